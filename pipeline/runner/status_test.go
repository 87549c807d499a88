package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/runner"
)

// lockRun runs exectest.CacheRecipe and writes its lockfile, returning the path.
func (cf *cacheFixture) lockRun(set ...string) (*pipeline.RunRecord, string) {
	cf.t.Helper()
	rec, _ := cf.run(set...)
	path := runner.LockPath(cf.file)
	l, err := runner.NewLock(rec, filepath.Dir(path))
	if err != nil {
		cf.t.Fatal(err)
	}
	if err := runner.WriteLock(path, l); err != nil {
		cf.t.Fatal(err)
	}
	return rec, path
}

// status compares the recipe with its lockfile.
func (cf *cacheFixture) status(build string, set ...string) *runner.StatusReport {
	cf.t.Helper()
	r, err := pipeline.Load(cf.file, pipeline.LoadOptions{Registry: registry(cf.kit), Set: set})
	if err != nil {
		cf.t.Fatal(err)
	}
	path := runner.LockPath(cf.file)
	l, err := runner.ReadLock(path)
	if err != nil {
		cf.t.Fatal(err)
	}
	runs := cf.kit.Order()
	rep, err := runner.Status(context.Background(), r, l, filepath.Dir(path), runner.StatusOptions{Build: build, Numerics: "test-numerics"})
	if err != nil {
		cf.t.Fatal(err)
	}
	if len(cf.kit.Order()) != len(runs) {
		cf.t.Errorf("status ran stages: %v", cf.kit.Order()[len(runs):])
	}
	return rep
}

// states maps stage paths to "state: reasons".
func states(rep *runner.StatusReport) map[string]string {
	out := map[string]string{}
	for _, s := range rep.Stages {
		out[s.Path] = s.State + ": " + strings.Join(s.Reasons, "; ")
	}
	return out
}

func TestStatusUpToDateAfterRun(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	cf.lockRun()
	rep := cf.status("test-build")
	if !rep.UpToDate || len(rep.Changes) != 0 {
		t.Errorf("status after a run: %+v", rep)
	}
	for path, st := range states(rep) {
		want := runner.StateUpToDate
		if path == "vol" {
			want = runner.StateVolatile
		}
		if !strings.HasPrefix(st, want+":") {
			t.Errorf("%s: %s, want %s", path, st, want)
		}
	}
}

func TestStatusSaysWhatChanged(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	cf.lockRun()
	// A param: c is stale for its config, d because it reads c.
	rep := cf.status("test-build", "w=20")
	st := states(rep)
	if rep.UpToDate || !slices.Contains(rep.Changes, "param w: 10 → 20") {
		t.Errorf("changes %v", rep.Changes)
	}
	for path, want := range map[string]string{
		"c": "stale: config metrics.w: 10 → 20", "d": "stale: upstream c is stale",
		"a": "up-to-date: ", "l": "up-to-date: ", "l[2]/step": "up-to-date: ", "m[1]/s": "up-to-date: ",
	} {
		if st[path] != want {
			t.Errorf("w=20: %s is %q, want %q", path, st[path], want)
		}
	}
	// A file.
	data := filepath.Join(filepath.Dir(cf.file), "data.txt")
	if err := os.WriteFile(data, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := states(cf.status("test-build")); st["f"] != "stale: file data.txt changed" || st["c"] != "up-to-date: " {
		t.Errorf("after editing data.txt: f %q, c %q", st["f"], st["c"])
	}
	if err := os.WriteFile(data, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	// v feeds a: everything that reads a's artifact, directly or not, is
	// stale; the loop and the matrix as a whole.
	st = states(cf.status("test-build", "v=2"))
	for path, want := range map[string]string{
		"a": "stale: config value: 1 → 2", "b": "stale: upstream a is stale", "l": "stale: upstream b is stale",
		"m": "stale: upstream a is stale", "c": "up-to-date: ", "f": "up-to-date: ",
	} {
		if st[path] != want {
			t.Errorf("v=2: %s is %q, want %q", path, st[path], want)
		}
	}
	// Another build recomputes everything.
	rep = cf.status("other-build")
	if rep.UpToDate || !strings.Contains(states(rep)["a"], "lopper build changed (test-build → other-build)") {
		t.Errorf("other build: %v", states(rep))
	}
}

// The replay follows the loop's until: a lower bound on the loop's value
// stops it earlier, so fewer iterations are needed and all are up to date;
// a new iteration beyond the locked ones is stale.
func TestStatusReplaysLoops(t *testing.T) {
	src := strings.Replace(exectest.CacheRecipe, `until: "step.value > 100"`, `until: "step.value > params.stop"`, 1)
	src = strings.Replace(src, "params: {v: 1.0,", "params: {stop: 100.0, v: 1.0,", 1)
	cf := newCacheFixture(t, src)
	cf.lockRun("stop=15") // values 12, 23: stops after iteration 1
	st := states(cf.status("test-build", "stop=15"))
	if st["l"] != "up-to-date: " || st["l[1]/step"] != "up-to-date: " {
		t.Errorf("same stop: %v", st)
	}
	if _, ok := st["l[2]/step"]; ok {
		t.Errorf("a third iteration was replayed: %v", st)
	}
	// A higher stop needs iteration 2, which the lock does not have; the
	// stop param is no stage's config, so nothing else changes.
	st = states(cf.status("test-build", "stop=30"))
	if st["l[2]/step"] != "stale: not in the lockfile (a new stage instance)" || st["l[1]/step"] != "up-to-date: " {
		t.Errorf("higher stop: %v", st)
	}
}

func TestLockIsDeterministic(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	_, path := cf.lockRun()
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cf.lockRun() // every stage cached this time
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Errorf("lockfiles differ:\n%s\n---\n%s", first, second)
	}
	l, err := runner.ReadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Recipe != "recipe.yaml" || len(l.Files) != 1 || l.Files[0].Path != "data.txt" {
		t.Errorf("lock recipe %q files %v", l.Recipe, l.Files)
	}
	byPath := map[string]runner.LockStage{}
	for _, s := range l.Stages {
		byPath[s.Path] = s
	}
	if s := byPath["b"]; s.CacheKey == "" || s.Outputs["number"].Digest != "number:2" || s.Metrics["value"] != 2 || len(s.Inputs) != 1 {
		t.Errorf("lock stage b %+v", s)
	}
	if s := byPath["vol"]; !s.Volatile || s.CacheKey != "" || s.Metrics != nil {
		t.Errorf("lock stage vol %+v", s)
	}
	if p := l.Params[2]; p.Name != "data" || p.Value != "data.txt" {
		t.Errorf("path param %+v, want it relative to the lockfile", p)
	}
}

// A lockfile cut at any line is refused as damaged (ErrBadLock), naming
// it: a truncation at a line between two params or stages still parses,
// and would otherwise read as params and stages that vanished.
func TestReadLockRefusesTruncated(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	_, path := cf.lockRun()
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(full) - 1 {
		if full[i] != '\n' {
			continue
		}
		if err := os.WriteFile(path, full[:i+1], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := runner.ReadLock(path); !errors.Is(err, runner.ErrBadLock) || !strings.Contains(err.Error(), path) {
			t.Fatalf("cut after %d bytes: %v", i+1, err)
		}
	}
	if err := os.WriteFile(path, full, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.ReadLock(path); err != nil {
		t.Fatal(err)
	}
}
