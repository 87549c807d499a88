package temporal

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.temporal.io/sdk/testsuite"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/runner"
)

// Trimming a worker's directory removes the least recently used copies
// that no stage holds until it fits, and the views with the inputs they
// may link to; what a stage holds stays.
func TestTrimWorkDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	if err := claimWorkDir(dir, false); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	unitAt := func(rel string, age time.Duration) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "f"), make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := unitAt("inputs/"+strings.Repeat("a", 64)+"-a", 3*time.Hour)
	r := unitAt("runs/r", 2*time.Hour)
	b := unitAt("inputs/"+strings.Repeat("b", 64)+"-b", time.Hour)
	v := filepath.Join(dir, "views", strings.Repeat("c", 32))
	if err := os.MkdirAll(v, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(a, "f"), filepath.Join(v, "f")); err != nil {
		t.Fatal(err)
	}
	var use workDirUse
	release, err := use.hold(r)
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	note := func(p string) { gone = append(gone, p) }
	// 400 bytes, at most 250: a goes (the oldest), r is held; the view
	// goes with a.
	if n, freed, err := use.trim(dir, 250, note); err != nil || n != 2 || freed != 100 {
		t.Fatalf("trim: %d %d %v", n, freed, err)
	}
	for p, want := range map[string]bool{a: false, r: true, b: true, v: false} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: there %v, want %v", p, err == nil, want)
		}
	}
	// Held again, r is now the most recently used; released, it goes
	// after b.
	release()
	if release, err = use.hold(r); err != nil {
		t.Fatal(err)
	}
	release()
	if n, _, err := use.trim(dir, 100, note); err != nil || n != 1 {
		t.Fatalf("second trim: %d %v", n, err)
	}
	if _, err := os.Stat(b); err == nil {
		t.Error("b, used less recently than r, is still there")
	}
	if _, err := os.Stat(r); err != nil {
		t.Errorf("r, used last, is gone: %v", err)
	}
	if !slices.Equal(gone, []string{a, b}) {
		t.Errorf("told of %v", gone)
	}
}

// Trimming a --work-dir that names a folder of the user's own (one
// holding files before lopper used it: $HOME, a recipe's directory) removes
// nothing, not even a runs/ or inputs/ of theirs; in a directory lopper
// made, it leaves entries it would not have named itself.
func TestTrimWorkDirLeavesUserFiles(t *testing.T) {
	user := t.TempDir()
	mine := []string{"notes.txt", "runs/experiment/result.txt", "inputs/data.csv", "views/photo.png"}
	for _, rel := range mine {
		p := filepath.Join(user, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := &Activities{WorkDir: user, WorkDirMax: 1}
	if _, err := a.workDir(); err != nil {
		t.Fatal(err)
	}
	a.TrimWorkDir(hclog.NewNullLogger())
	var use workDirUse
	if n, _, err := use.trim(user, 1, nil); err == nil || n != 0 {
		t.Errorf("trim of the user's folder: removed %d, err %v; want a refusal", n, err)
	}
	if _, err := os.Lstat(filepath.Join(user, workDirMark)); err == nil {
		t.Error("lopper marked the user's folder as its own")
	}
	// A directory lopper made, into which the user put files of their own.
	work := filepath.Join(t.TempDir(), "work")
	if err := claimWorkDir(work, false); err != nil {
		t.Fatal(err)
	}
	for _, rel := range mine[2:] {
		p := filepath.Join(work, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := use.trim(work, 1, nil); err != nil {
		t.Fatal(err)
	}
	for _, rel := range mine {
		if _, err := os.Stat(filepath.Join(user, rel)); err != nil {
			t.Errorf("the user's %s is gone: %v", rel, err)
		}
	}
	for _, rel := range mine[2:3] {
		if _, err := os.Stat(filepath.Join(work, rel)); err != nil {
			t.Errorf("the user's %s in lopper's directory is gone: %v", rel, err)
		}
	}
}

// A worker whose directory is bounded (WorkDirMax) still runs every stage,
// with the same results, and leaves no copy that no stage uses; unbounded,
// it keeps them.
func TestBoundedWorkDir(t *testing.T) {
	for _, max := range []int64{0, 1} {
		r, _, _ := load(t, readRecipe)
		writeInputs(t, r.Dir)
		cache, err := pipeline.OpenCache(filepath.Join(t.TempDir(), "store"))
		if err != nil {
			t.Fatal(err)
		}
		local, err := runner.Run(t.Context(), r, runner.Options{OutDir: t.TempDir(), Logger: exectest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		var workDir string
		x := &testExecutor{t: t, wrap: hideInputs(t, r.Dir), setup: func(_ *testsuite.TestWorkflowEnvironment, acts *Activities) {
			acts.WorkDirMax, workDir = max, acts.WorkDir
		}}
		rec := run(t, x, r, runner.Options{Cache: cache})
		if rec.Status != pipeline.RunSucceeded {
			t.Fatalf("run: %s: %s", rec.Status, rec.Error)
		}
		for _, p := range []string{"file", "dir"} {
			if got, want := exectest.Stage(t, rec, p), exectest.Stage(t, local, p); got.CacheKey != want.CacheKey || got.Metrics["bytes"] != want.Metrics["bytes"] {
				t.Errorf("%s: key %s bytes %v; locally %s %v", p, got.CacheKey, got.Metrics["bytes"], want.CacheKey, want.Metrics["bytes"])
			}
		}
		size, err := treeSize(workDir)
		if fi, err := os.Stat(filepath.Join(workDir, workDirMark)); err == nil {
			size -= fi.Size() // the mark is no copy
		}
		if err != nil || (size == 0) != (max > 0) {
			t.Errorf("bound %d: the worker's directory holds %d bytes after the run (%v)", max, size, err)
		}
	}
}
