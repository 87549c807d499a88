package pipeline

import (
	"errors"
	"fmt"
	"time"

	"lopper/internal/fsx"
)

// errLocked is returned by lockFile when another process holds the lock.
var errLocked = fsx.ErrLocked

// lockFile takes an advisory lock on path (see fsx.Lock).
func lockFile(path string, exclusive, wait bool) (unlock func(), err error) {
	return fsx.Lock(path, exclusive, wait)
}

// runLockPatience is how long lockRunDir waits for a run directory that is
// locked: long enough for another process's RunInProgress probe, which
// holds the lock for an instant, far too short for a run.
const runLockPatience = time.Second

// lockRunDir locks a run directory (flock on the directory itself) for
// this process, for the whole run, so that `--resume` never continues a
// run that is still going and RunInProgress can tell a live run from one
// whose process died. The kernel drops the lock when the process dies,
// however it dies.
func lockRunDir(dir string) (unlock func(), err error) {
	deadline := time.Now().Add(runLockPatience)
	for {
		unlock, err = lockFile(dir, true, false)
		if !errors.Is(err, errLocked) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("run directory %s is in use by another lopper process (a run in progress?)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	return unlock, nil
}

// RunInProgress reports whether a live lopper process holds the run
// directory dir: a run or a resume of it is going on. known is false where
// that cannot be told (no advisory locks, or dir cannot be opened).
func RunInProgress(dir string) (live, known bool) {
	held, err := lockHeld(dir)
	if err != nil {
		return false, false
	}
	return held, true
}

// DiedError is the error of a run whose process died before it could
// record an outcome.
const DiedError = "interrupted: the lopper process died without recording an outcome (killed, or the machine went down)"

// SettleDead corrects the record of a run that says it is running while no
// live process holds its run directory dir: its process died (SIGKILL, a
// crash, a power cut) before recording an outcome. The run becomes
// interrupted, with DiedError, and its running and pending stages
// cancelled, as after a Ctrl-C; `lopper run --resume` continues it. It
// reports whether it changed rec. A run whose liveness cannot be told
// stays as recorded.
func SettleDead(rec *RunRecord, dir string) bool {
	if rec.Status != RunRunning {
		return false
	}
	if live, known := RunInProgress(dir); live || !known {
		return false
	}
	rec.Status, rec.Error = RunInterrupted, DiedError
	rec.Walk(func(s *StageRecord) {
		if s.Status == StageRunning || s.Status == StagePending {
			s.Status, s.Reason = StageCancelled, "interrupted: the lopper process died"
		}
	})
	return true
}
