package pipeline

import (
	"testing"
	"time"
)

// A record that says "running" is the record of a live run while its run
// directory is locked, and of a dead one (interrupted, its running and
// pending stages cancelled) once the lock is gone.
func TestSettleDead(t *testing.T) {
	dir := t.TempDir()
	rec := func() *RunRecord {
		return &RunRecord{Status: RunRunning, Stages: []*StageRecord{
			{Path: "a", Status: StageSucceeded}, {Path: "b", Status: StageRunning}, {Path: "c", Status: StagePending}}}
	}
	unlock, err := lockRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := rec()
	if SettleDead(live, dir) || live.Status != RunRunning {
		t.Errorf("a live run was settled: %s", live.Status)
	}
	unlock()
	dead := rec()
	if !SettleDead(dead, dir) || dead.Status != RunInterrupted || dead.Error != DiedError {
		t.Fatalf("a dead run: %s %q", dead.Status, dead.Error)
	}
	got := [3]StageStatus{dead.Stages[0].Status, dead.Stages[1].Status, dead.Stages[2].Status}
	if got != [3]StageStatus{StageSucceeded, StageCancelled, StageCancelled} {
		t.Errorf("stages %v", got)
	}
	done := &RunRecord{Status: RunFailed}
	if SettleDead(done, dir) || done.Status != RunFailed {
		t.Errorf("a finished run was settled: %s", done.Status)
	}
}

// A probe (RunInProgress) holds the run directory's lock for an instant; a
// run starting at that instant waits for it instead of failing.
func TestRunDirLockWaitsForAProbe(t *testing.T) {
	dir := t.TempDir()
	probe, err := lockFile(dir, false, false) // as RunInProgress holds it
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, probe)
	unlock, err := lockRunDir(dir)
	if err != nil {
		t.Fatalf("a run refused while a probe held the lock: %v", err)
	}
	if live, known := RunInProgress(dir); !live || !known {
		t.Errorf("RunInProgress = %v, %v during a run", live, known)
	}
	unlock()
	if live, known := RunInProgress(dir); live || !known {
		t.Errorf("RunInProgress = %v, %v after the run", live, known)
	}
}
