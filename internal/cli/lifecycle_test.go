package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lopper/internal/fsx"
	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// killRecipe stores a's number in the cache and writes it into the run
// directory for b: two artifact writes a kill can interrupt.
const killRecipe = `version: 1
name: killed
stages:
  a: {uses: emit, with: {value: 1}}
  b: {uses: emit, with: {input: a, add: 1, on_disk: true}}
`

// killWhileEncoding starts `lopper run ARGS...` with the test kinds, waits
// until it is in the middle of writing an artifact, and kills it (SIGKILL).
func killWhileEncoding(t *testing.T, args ...string) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd, log := child([]string{childEnv + "=" + childTestKinds, pipelinetest.EncodeWaitEnv + "=" + ready}, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lopper %v never started writing an artifact:\n%s", args, log)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("lopper %v: %v, want killed\n%s", args, err, log)
	}
}

// temporaries lists the fsx temporary entries below the roots.
func temporaries(t *testing.T, roots ...string) []string {
	t.Helper()
	var found []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if fsx.IsTemp(d.Name()) {
				found = append(found, p)
				if d.IsDir() {
					return filepath.SkipDir
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// listedStatus returns the status `lopper runs --json` shows for the run
// directory dir.
func listedStatus(t *testing.T, out, dir string) string {
	t.Helper()
	code, stdout, stderr := lopper(context.Background(), "runs", "--out", out, "--json", "--limit", "0")
	var list []struct{ Dir, Status, Error string }
	if err := json.Unmarshal([]byte(stdout), &list); code != exitOK || err != nil {
		t.Fatalf("runs --json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	for _, s := range list {
		if s.Dir == dir {
			return s.Status
		}
	}
	t.Fatalf("runs --json does not list %s: %s", dir, stdout)
	return ""
}

// A run killed (SIGKILL) while it writes an artifact into the cache leaves
// a temporary directory there, and shows as interrupted (not running
// forever); the next run that uses the cache removes it, and resuming the
// killed run clears its run directory.
func TestKilledRunTemporariesAreCleared(t *testing.T) {
	recipe := recipeFile(t, "killed.yaml", killRecipe)
	out, cache := t.TempDir(), filepath.Join(t.TempDir(), "cache")
	killWhileEncoding(t, "run", recipe, "--out", out, "--cache-dir", cache)
	killed := onlyRun(t, out)
	if left := temporaries(t, cache); len(left) == 0 {
		t.Fatalf("the kill left no temporary in the cache (%v): the test proves nothing", temporaries(t, out))
	}
	if rec := readRunRecord(t, killed); rec.Status != pipeline.RunRunning {
		t.Fatalf("the killed run recorded %s", rec.Status)
	}
	if s := listedStatus(t, out, killed); s != string(pipeline.RunInterrupted) {
		t.Errorf("lopper runs shows the killed run as %q, want interrupted", s)
	}

	ctx := context.Background()
	if code, _, stderr := lopper(ctx, "run", recipe, "--out", t.TempDir(), "--cache-dir", cache); code != exitOK {
		t.Fatalf("next run: exit %d\n%s", code, stderr)
	}
	if left := temporaries(t, cache); len(left) != 0 {
		t.Errorf("the next run left the killed run's temporaries in the cache: %v", left)
	}
	if code, _, stderr := lopper(ctx, "run", "--resume", killed); code != exitOK {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	if left := temporaries(t, out, cache); len(left) != 0 {
		t.Errorf("temporaries left after the resume: %v", left)
	}
	rec := readRunRecord(t, killed)
	if len(rec.Resumed) != 1 || rec.Resumed[0].Status != pipeline.RunInterrupted || rec.Resumed[0].Error != pipeline.DiedError {
		t.Errorf("the resumed record's attempts: %+v, want one interrupted (the process died)", rec.Resumed)
	}
}

// A --no-cache run killed while it writes an artifact into its run
// directory: `--resume` removes the temporary, and runs without a cache as
// the run did (it does not create the default cache next to the recipe).
func TestKilledNoCacheRunResumes(t *testing.T) {
	recipe := recipeFile(t, "killed.yaml", killRecipe)
	out := t.TempDir()
	killWhileEncoding(t, "run", recipe, "--out", out, "--no-cache")
	killed := onlyRun(t, out)
	if left := temporaries(t, killed); len(left) == 0 {
		t.Fatal("the kill left no temporary in the run directory: the test proves nothing")
	}
	if s := listedStatus(t, out, killed); s != string(pipeline.RunInterrupted) {
		t.Errorf("lopper runs shows the killed run as %q, want interrupted", s)
	}
	// What the user put in the run directory stays: a file of theirs, and
	// a temporary a live writer holds (a lazy prune's scratch directory).
	notes := filepath.Join(killed, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	live, err := fsx.NewTempDir(filepath.Join(killed, "pruned-x"))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := lopper(context.Background(), "run", "--resume", killed); code != exitOK {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	for _, p := range []string{notes, live.Path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the resume removed %s, which the killed run did not leave: %v", p, err)
		}
	}
	if err := live.Discard(); err != nil {
		t.Fatal(err)
	}
	if left := temporaries(t, out); len(left) != 0 {
		t.Errorf("temporaries left after the resume: %v", left)
	}
	if _, err := os.Stat(pipeline.DefaultCacheDir(recipe)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("resuming a --no-cache run used the default cache: %v", err)
	}
	if rec := readRunRecord(t, killed); rec.CacheDir != "" || rec.Status != pipeline.RunSucceeded {
		t.Errorf("resumed record: status %s, cache_dir %q", rec.Status, rec.CacheDir)
	}
}

// A lockfile that cannot be written fails the run: the record, the printed
// line, --summary-json and the exit code all say failed, and why.
func TestUnwritableLockfileFailsTheRun(t *testing.T) {
	f := recipeFile(t, "st.yaml", statusRecipe)
	dir := filepath.Dir(f)
	if err := os.WriteFile(filepath.Join(dir, "gate.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "st.lock")
	if err := os.MkdirAll(filepath.Join(lock, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, summary := t.TempDir(), filepath.Join(t.TempDir(), "summary.json")
	code, stdout, _ := lopper(context.Background(), "run", f, "--out", out, "--summary-json", summary)
	if code != exitFailed || !strings.Contains(stdout, "run st failed") || !strings.Contains(stdout, "cannot write the lockfile "+lock) {
		t.Errorf("exit %d, printed %q; want 1 and a failed run naming the lockfile", code, stdout)
	}
	if rec := readRunRecord(t, onlyRun(t, out)); rec.Status != pipeline.RunFailed || !strings.Contains(rec.Error, lock) {
		t.Errorf("run.json: %s %q", rec.Status, rec.Error)
	}
	var s pipeline.Summary
	b, err := os.ReadFile(summary)
	if err != nil || json.Unmarshal(b, &s) != nil || s.Status != pipeline.RunFailed || s.ExitCode != exitFailed {
		t.Errorf("--summary-json: %v %s", err, b)
	}
}

// --summary-json never names the recipe, its lockfile, a directory, an
// input or the cache: refused at once (exit 2), before any run starts.
func TestSummaryJSONIsCheckedFirst(t *testing.T) {
	f := recipeFile(t, "st.yaml", statusRecipe)
	dir := filepath.Dir(f)
	gate := filepath.Join(dir, "gate.txt")
	if err := os.WriteFile(gate, []byte("the input"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f, filepath.Join(dir, "alias.yaml")); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	out := t.TempDir()
	for _, c := range []struct{ path, why string }{
		{f, "is the recipe"},
		{filepath.Join(dir, "alias.yaml"), "is the recipe"},
		{filepath.Join(dir, ".", "st.lock"), "is the recipe's lockfile"},
		{dir, "is a directory"},
		{gate, "is param gate"},
		{filepath.Join(cache, "summary.json"), "inside the stage cache"},
		{filepath.Join(dir, "missing", "summary.json"), "does not exist"},
	} {
		code, _, stderr := lopper(context.Background(), "run", f, "--out", out, "--cache-dir", cache, "--summary-json", c.path)
		if code != exitUsage || !strings.Contains(stderr, "--summary-json") || !strings.Contains(stderr, c.why) {
			t.Errorf("--summary-json %s: exit %d, %q; want 2 and %q", c.path, code, stderr, c.why)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a refused run started: %v", entries)
	}
	if _, err := os.Stat(cache); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused run created its cache: %v", err)
	}
	if b, _ := os.ReadFile(gate); string(b) != "the input" {
		t.Errorf("the input was overwritten: %q", b)
	}
	if b, _ := os.ReadFile(f); string(b) != statusRecipe {
		t.Errorf("the recipe was overwritten: %q", b)
	}
}

// A truncated lockfile is reported as damaged, by name, not compared as if
// its missing params had changed to nothing.
func TestStatusReportsDamagedLockfile(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "st.yaml", statusRecipe)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f), "gate.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := lopper(ctx, "run", f, "--out", t.TempDir()); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	lock := runner.LockPath(f)
	full, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	cut := strings.Index(string(full), "params:") + len("params:\n    - name: v\n")
	if err := os.WriteFile(lock, full[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := lopper(ctx, "status", f)
	if code != exitFailed || !strings.Contains(stdout, "the lockfile "+lock+" is damaged") || strings.Contains(stdout, "<nil>") {
		t.Errorf("status with a truncated lockfile: exit %d\n%s", code, stdout)
	}
}

// A file someone put into the cache does not make `cache gc` fail; it is
// named and left alone.
func TestCacheGCLeavesStrayFiles(t *testing.T) {
	cache := t.TempDir()
	if _, err := pipeline.OpenCache(cache); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(cache, "entries", "README")
	if err := os.WriteFile(stray, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := lopper(context.Background(), "cache", "gc", "--keep-last", "0", "--cache-dir", cache)
	if code != exitOK || !strings.Contains(stdout, "left alone: "+stray) {
		t.Errorf("gc: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("gc removed %s: %v", stray, err)
	}
}
