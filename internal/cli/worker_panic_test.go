package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/par"
	"lopper/pipeline"
)

// A stage whose worker goroutine panics fails that stage, as a panic on the
// stage's own goroutine does: the other stages finish, the run is recorded
// as failed in run.json, the exit code is 1, and the log has the panic with
// the worker's stack. (Without recovery in the pool the process dies with no
// final run.json.)
func TestWorkerPanicFailsTheStage(t *testing.T) {
	defer func(old func() *pipeline.Registry) { newRegistry = old }(newRegistry)
	old := newRegistry
	newRegistry = func() *pipeline.Registry {
		reg := old()
		reg.Register("worker_panic", pipeline.Typed(pipeline.KindOf[struct{}]{
			Run: func(context.Context, *pipeline.StageContext, *struct{}) (*pipeline.Result, error) {
				par.ForWorker(64, 4, func(worker, i int) {
					if worker != 0 || i == 63 { // on a worker goroutine, whatever the schedule
						workerPanic()
					}
				})
				return &pipeline.Result{}, nil
			},
		}))
		return reg
	}
	src := "version: 1\nname: wp\nstages:\n  bad: {uses: worker_panic}\n  fine: {uses: emit, with: {value: 1}}\n"
	out := t.TempDir()
	code, _, stderr := lopper(context.Background(), "run", recipeFile(t, "r.yaml", src), "--out", out, "--no-cache")
	if code != exitFailed {
		t.Errorf("code %d, want %d\n%s", code, exitFailed, stderr)
	}
	rec := readRunRecord(t, onlyRun(t, out))
	if rec.Status != pipeline.RunFailed {
		t.Errorf("run.json: status %s, want %s", rec.Status, pipeline.RunFailed)
	}
	for _, s := range rec.Stages {
		switch {
		case s.ID == "bad" && (s.Status != pipeline.StageFailed || s.Error != "panic: boom"):
			t.Errorf("stage bad: %s %q, want failed with the panic", s.Status, s.Error)
		case s.ID == "fine" && s.Status != pipeline.StageSucceeded:
			t.Errorf("stage fine: %s", s.Status)
		}
	}
	if !strings.Contains(stderr, "stage panicked") || !strings.Contains(stderr, ".workerPanic()") {
		t.Errorf("the log lacks the panic and the worker's stack:\n%s", stderr)
	}
	if matches, _ := filepath.Glob(filepath.Join(out, "*", pipeline.RecordFile)); len(matches) != 1 {
		t.Errorf("run records: %v", matches)
	}
}

//go:noinline
func workerPanic() { panic("boom") }

// A command (outside a run) whose worker panics exits with 1 and shows the
// panic with the worker's stack, not only where the pool re-raised it.
func TestWorkerPanicInACommand(t *testing.T) {
	cmd := command{name: "test-panic", run: func(context.Context, *app, []string) int {
		par.ForWorker(64, 4, func(worker, i int) {
			if worker != 0 || i == 63 {
				workerPanic()
			}
		})
		return exitOK
	}}
	var stdout, errb strings.Builder
	code := (&app{stdout: &stdout, stderr: &errb}).runCommand(context.Background(), cmd, nil)
	stderr := errb.String()
	if code != exitFailed || !strings.HasPrefix(stderr, "lopper test-panic: panic: boom\n") || !strings.Contains(stderr, ".workerPanic()") {
		t.Errorf("code %d, stderr:\n%s", code, stderr)
	}
}
