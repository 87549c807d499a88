package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"lopper/history"
	"lopper/pipeline"
)

// mkfifo makes a FIFO at path, skipping the test where there are none.
func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	return path
}

// openWhenRead waits until a reader opens the FIFO at path, then opens its
// write end: the reader is now blocked reading it, as nothing is written,
// until the write end is closed, which lets the reader see the end of the
// file. A reader that waits for the FIFO shows that the command is running,
// past signal set-up.
func openWhenRead(t *testing.T, path string) *os.File {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return f
		}
		if !errors.Is(err, syscall.ENXIO) || time.Now().After(deadline) {
			t.Fatalf("no reader opened %s: %v", path, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// blockedCommands are command lines that block reading a FIFO that nobody
// writes, one per command that reads recipes or run records; fifo is
// called for the FIFO's path.
func blockedCommands(t *testing.T, fifo func(name string) string) map[string][]string {
	runsOut := t.TempDir()
	if err := os.Mkdir(filepath.Join(runsOut, "20260101T000000Z-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, filepath.Join(runsOut, "20260101T000000Z-x", pipeline.RecordFile))
	return map[string][]string{
		"validate": {"validate", fifo("r.yaml")},
		"plan":     {"plan", fifo("r.yaml")},
		"graph":    {"graph", fifo("r.yaml")},
		"status":   {"status", fifo("r.yaml")},
		"run":      {"run", fifo("r.yaml"), "--out", t.TempDir()},
		"diff":     {"diff", fifo("run.json"), fifo("run.json")},
		"runs":     {"runs", "--out", runsOut},
	}
}

// The first signal stops a command blocked in a read that no context can
// interrupt, with 130, at once. (Before, such a command ignored SIGINT and
// SIGTERM, however many.)
func TestFirstSignalStopsABlockedCommand(t *testing.T) {
	for name, args := range blockedCommands(t, func(n string) string { return mkfifo(t, filepath.Join(t.TempDir(), n)) }) {
		t.Run(name, func(t *testing.T) {
			fifo := args[1]
			if name == "runs" {
				fifo = filepath.Join(args[2], "20260101T000000Z-x", pipeline.RecordFile)
			}
			sigs, done := interruptible(args...)
			defer openWhenRead(t, fifo).Close()
			sigs <- syscall.SIGINT
			wantInterrupted(t, done, 5*time.Second)
		})
	}
}

// A command inside a section it must finish (lopper run recording its run)
// is waited for on the first signal: the run stops its stages, records
// itself as interrupted and exits with 130.
func TestFirstSignalLetsARunRecordItself(t *testing.T) {
	out := t.TempDir()
	src := "version: 1\nname: int\nstages:\n  stuck_sig: {uses: emit, with: {block: true}}\n"
	sigs, done := interruptible("run", recipeFile(t, "r.yaml", src), "--out", out)
	for testKit.Runs("stuck_sig") == 0 {
		time.Sleep(time.Millisecond)
	}
	sigs <- syscall.SIGTERM
	wantInterrupted(t, done, 10*time.Second)
	if rec := readRunRecord(t, onlyRun(t, out)); rec.Status != pipeline.RunInterrupted {
		t.Errorf("run.json: status %s, want %s", rec.Status, pipeline.RunInterrupted)
	}
}

// A second signal exits at once even when the command is waited for and
// does not stop: here a run whose stage is blocked reading a FIFO (hashing
// its input), which the run would wait 10 s for.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	recipe := recipeFile(t, "r.yaml", "version: 1\nname: deaf\nstages:\n  base: {uses: load, with: {path: model}}\n")
	fifo := mkfifo(t, filepath.Join(filepath.Dir(recipe), "model"))
	out := t.TempDir()
	sigs, done := interruptible("run", recipe, "--out", out, "--no-cache")
	w := openWhenRead(t, fifo)
	defer waitFinal(t, out)
	defer w.Close() // first
	sigs <- syscall.SIGINT
	select {
	case code := <-done:
		t.Fatalf("the run stopped with %d though its stage cannot", code)
	case <-time.After(300 * time.Millisecond):
	}
	sigs <- syscall.SIGINT
	wantInterrupted(t, done, 2*time.Second)
}

// interruptible runs `lopper ARGS...` as main does, with a signal channel
// that the test sends on, and returns the channel and the exit code's.
func interruptible(args ...string) (chan<- os.Signal, <-chan int) {
	sigs := make(chan os.Signal, 2)
	done := make(chan int, 1)
	go func() { done <- runInterruptible(sigs, args, io.Discard, io.Discard) }()
	return sigs, done
}

// wantInterrupted wants exit code 130 on done within d.
func wantInterrupted(t *testing.T, done <-chan int, d time.Duration) {
	t.Helper()
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Errorf("exit code %d, want %d", code, exitInterrupted)
		}
	case <-time.After(d):
		t.Fatalf("still running %v after the signal", d)
	}
}

// waitFinal waits until the run under out has recorded its end (the
// abandoned run goes on in the test process).
func waitFinal(t *testing.T, out string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if runs, _ := filepath.Glob(filepath.Join(out, "*", pipeline.RecordFile)); len(runs) == 1 {
			if rec, err := history.Read(runs[0]); err == nil && rec.Status != pipeline.RunRunning {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the abandoned run under %s did not finish", out)
}

// The program itself (the test binary re-executed as lopper) stops at the
// first real SIGINT when blocked reading a recipe, and exits at the second
// SIGINT when a run is blocked in a stage that does not stop; SIGTERM acts as
// SIGINT.
func TestSignalsStopTheProgram(t *testing.T) {
	for _, sigs := range [][]os.Signal{{os.Interrupt}, {syscall.SIGTERM, os.Interrupt}} {
		t.Run(fmt.Sprint(sigs), func(t *testing.T) {
			recipe := filepath.Join(t.TempDir(), "r.yaml")
			fifo := recipe
			args := []string{"validate", recipe}
			if len(sigs) == 2 {
				fifo = mkfifo(t, filepath.Join(filepath.Dir(recipe), "model"))
				if err := os.WriteFile(recipe, []byte("version: 1\nname: deaf\nstages:\n  base: {uses: load, with: {path: model}}\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args = []string{"run", recipe, "--out", t.TempDir(), "--no-cache"}
			} else {
				mkfifo(t, recipe)
			}
			cmd, log := child(nil, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			w := openWhenRead(t, fifo)
			defer w.Close()
			for i, sig := range sigs {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				wait := 5 * time.Second
				if i < len(sigs)-1 {
					wait = 500 * time.Millisecond // the run waits up to 10 s for its stage
				}
				select {
				case <-exited:
					if i < len(sigs)-1 {
						t.Fatalf("exited at signal %d of %d:\n%s", i+1, len(sigs), log)
					}
				case <-time.After(wait):
					if i == len(sigs)-1 {
						cmd.Process.Kill()
						<-exited
						t.Fatalf("still running %v after signal %d:\n%s", wait, i+1, log)
					}
				}
			}
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Errorf("exit code %d, want %d:\n%s", code, exitInterrupted, log)
			}
		})
	}
}

// A section held when the first signal comes is waited for; once lopper
// has given up on the command, no section starts.
func TestExitGuard(t *testing.T) {
	var g exitGuard
	release, ok := g.hold()
	if !ok || g.abandon() {
		t.Fatalf("held: hold ok %v, yet abandoned", ok)
	}
	release()
	if !g.abandon() {
		t.Fatal("released: not abandoned")
	}
	if _, ok := g.hold(); ok {
		t.Error("abandoned: a section started")
	}
}

// An interrupted prune exits with 130 and saves nothing.
func TestInterruptedPruneSavesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "pruned")
	code, _, stderr := lopper(ctx, "prune", "--model", filepath.Join("quickstart", "model"), "--out", out, "--method", "magnitude")
	if code != exitInterrupted {
		t.Errorf("code %d, want %d: %s", code, exitInterrupted, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want nothing saved", out, err)
	}
}
