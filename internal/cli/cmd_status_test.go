package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// statusRecipe reads a file in stage b, so a run fails until it exists.
const statusRecipe = `version: 1
name: st
params: {v: 1, gate: {type: path, default: gate.txt}}
stages:
  a: {uses: emit, with: {value: "${{ params.v }}"}}
  b: {uses: emit, with: {input: a, add: 1, file: "${{ params.gate }}"}}
  c: {uses: emit, with: {input: b, add: 1}}
`

func TestStatusCommand(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "st.yaml", statusRecipe)
	gate := filepath.Join(filepath.Dir(f), "gate.txt")
	if err := os.WriteFile(gate, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := lopper(ctx, "status", f); code != exitFailed || !strings.Contains(out, "no lockfile") {
		t.Errorf("before any run: code %d, %q", code, out)
	}
	if code, _, errs := lopper(ctx, "run", f, "--out", t.TempDir()); code != exitOK {
		t.Fatalf("run: %d %s", code, errs)
	}
	lock := filepath.Join(filepath.Dir(f), "st.lock")
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("no lockfile after a run: %v", err)
	}
	if code, out, _ := lopper(ctx, "status", f); code != exitOK || !strings.Contains(out, "st.yaml: up to date: 3 stage(s) up to date, 0 stale") {
		t.Errorf("after the run: code %d, %q", code, out)
	}
	code, out, _ := lopper(ctx, "status", f, "--set", "v=2")
	for _, want := range []string{"changed: param v: 1 → 2", "stale      a (emit): config value: 1 → 2", "stale      b (emit): upstream a is stale", "st.yaml: stale:"} {
		if code != exitFailed || !strings.Contains(out, want) {
			t.Errorf("v=2: code %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if err := os.WriteFile(gate, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = lopper(ctx, "status", f, "--json")
	var rep runner.StatusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFailed || rep.UpToDate {
		t.Fatalf("--json: code %d %v %s", code, err, out)
	}
	if s := rep.Stages[1]; s.Path != "b" || s.State != runner.StateStale || s.Reasons[0] != "file gate.txt changed" {
		t.Errorf("--json stage b: %+v", s)
	}
	if code, _, _ := lopper(ctx, "status", recipeFile(t, "bad.yaml", invalidRecipe)); code != exitUsage {
		t.Errorf("invalid recipe: code %d", code)
	}
}

func TestRunCacheFlagsAndResume(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "st.yaml", statusRecipe)
	dir := filepath.Dir(f)
	out := t.TempDir()
	// --no-cache stores nothing; the missing gate file fails stage b.
	if code, _, _ := lopper(ctx, "run", f, "--out", out, "--no-cache"); code != exitFailed {
		t.Fatalf("run without gate.txt: code %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, ".lopper")); err == nil {
		t.Errorf("--no-cache created a cache")
	}
	if _, err := os.Stat(filepath.Join(dir, "st.lock")); err == nil {
		t.Errorf("a failed run wrote a lockfile")
	}
	os.RemoveAll(out)
	if code, _, _ := lopper(ctx, "run", f, "--out", out, "--set", "v=3"); code != exitFailed {
		t.Fatalf("run without gate.txt: code %d", code)
	}
	run := onlyRun(t, out)
	for _, args := range [][]string{
		{"run", "--resume", run, f}, {"run", "--resume", run, "--set", "v=1"}, {"run", "--resume", run, "--out", out},
		{"run", f, "--no-cache", "--cache-dir", out}, {"run", "--resume", t.TempDir()},
	} {
		if code, _, _ := lopper(ctx, args...); code != exitUsage {
			t.Errorf("%v: code %d, want %d", args, code, exitUsage)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "gate.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	before := testKit.Runs("a")
	code, stdout, errs := lopper(ctx, "run", "--resume", run)
	if code != exitOK || !strings.Contains(stdout, "1 cached") {
		t.Fatalf("resume: code %d %q %s", code, stdout, errs)
	}
	if testKit.Runs("a") != before {
		t.Errorf("resume ran stage a again")
	}
	rec := readRunRecord(t, run)
	if rec.Stages[2].Metrics["value"] != 5 || len(rec.Resumed) != 1 || rec.Resumed[0].Status != pipeline.RunFailed {
		t.Errorf("resumed record: c %v, attempts %+v", rec.Stages[2].Metrics, rec.Resumed)
	}
	if _, err := os.Stat(filepath.Join(dir, "st.lock")); err != nil {
		t.Errorf("the resumed run wrote no lockfile: %v", err)
	}
	if code, stdout, _ := lopper(ctx, "run", "--resume", run); code != exitOK || !strings.Contains(stdout, "nothing to resume") {
		t.Errorf("resuming a succeeded run: code %d %q", code, stdout)
	}
}

func TestCacheCommand(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "st.yaml", statusRecipe)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f), "gate.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// v=1 makes the numbers 1, 2, 3 and v=2 makes 2, 3, 4: stored once each.
	for _, v := range []string{"v=1", "v=2"} {
		if code, _, errs := lopper(ctx, "run", f, "--out", t.TempDir(), "--set", v); code != exitOK {
			t.Fatalf("run %s: %d %s", v, code, errs)
		}
	}
	if code, out, _ := lopper(ctx, "cache", "verify", f); code != exitOK || !strings.Contains(out, "6 entries, 4 artifacts, 2 run logs, 0 damaged") {
		t.Errorf("verify: code %d %q", code, out)
	}
	code, out, _ := lopper(ctx, "cache", "gc", "--keep-last", "1", "--dry-run", f)
	if code != exitOK || !strings.Contains(out, "would remove 1 of 2 runs' logs, 3 of 6 entries, 1 of 4 artifacts") {
		t.Errorf("gc --dry-run: code %d %q", code, out)
	}
	code, out, _ = lopper(ctx, "cache", "gc", "--keep-last", "1", "--cache-dir", pipeline.DefaultCacheDir(f))
	if code != exitOK || !strings.Contains(out, "removed 1 of 2 runs' logs, 3 of 6 entries, 1 of 4 artifacts") {
		t.Errorf("gc: code %d %q", code, out)
	}
	entries, _ := filepath.Glob(filepath.Join(pipeline.DefaultCacheDir(f), "entries", "*", "*.json"))
	if len(entries) != 3 {
		t.Fatalf("%d entries left", len(entries))
	}
	if err := os.WriteFile(entries[0], []byte(`{"digest": "sha256:00", "entry": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := lopper(ctx, "cache", "verify", f); code != exitFailed || !strings.Contains(out, "damaged: "+entries[0]) {
		t.Errorf("verify a damaged cache: code %d %q", code, out)
	}
	for _, args := range [][]string{{"cache"}, {"cache", "gc", f}, {"cache", "gc", "--keep-last", "1"}, {"cache", "shrink", f}} {
		if code, _, _ := lopper(ctx, args...); code != exitUsage {
			t.Errorf("%v: code %d, want %d", args, code, exitUsage)
		}
	}
}
