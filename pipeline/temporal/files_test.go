package temporal

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/runner"
)

// readRecipe reads a file next to the recipe, a directory named by a
// param (absolute) and, from that directory, a file inside it.
const readRecipe = `version: 1
params:
  data: {type: path, default: data}
stages:
  file: {uses: read, with: {path: notes.txt}}
  dir: {uses: read, with: {path: "${{ params.data }}"}}
`

// writeInputs writes the recipe's inputs into dir.
func writeInputs(t *testing.T, dir string) {
	t.Helper()
	for name, text := range map[string]string{"notes.txt": "seven b", "data/a.txt": "eleven byte", "data/b/c.txt": "c"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hideInputs wraps the stage activity so that the inputs writeInputs
// wrote into dir are gone (renamed) once the first stage starts: after
// they were uploaded, the worker only has the store.
func hideInputs(t *testing.T, dir string) func(next stageActivity) stageActivity {
	var once sync.Once
	return func(next stageActivity) stageActivity {
		return func(ctx context.Context, at *ActivityTask) (*runner.StageOutcome, error) {
			once.Do(func() {
				for _, name := range []string{"notes.txt", "data"} {
					if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "gone-"+name)); err != nil {
						t.Error(err)
					}
				}
			})
			return next(ctx, at)
		}
	}
}

// A worker that does not see the recipe's files reads them from the run's
// store: `lopper run` uploads them, the worker fetches them into its own
// directory and reads them there, with the results and cache keys of a
// local run; what the stages write into their work directories comes
// back into the run directory.
func TestWorkersReadInputsFromTheStore(t *testing.T) {
	r, _, _ := load(t, readRecipe)
	writeInputs(t, r.Dir)
	local, err := runner.Run(context.Background(), r, runner.Options{OutDir: t.TempDir(), Logger: exectest.Logger(t)})
	if err != nil || local.Status != pipeline.RunSucceeded {
		t.Fatalf("local run: %v %v %s", err, local.Status, local.Error)
	}
	// Once uploaded, the inputs are gone: the worker only has the store.
	hide := hideInputs(t, r.Dir)
	cache, err := pipeline.OpenCache(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	x := &testExecutor{t: t, wrap: hide}
	rec := run(t, x, r, runner.Options{Cache: cache})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run: %s: %s", rec.Status, rec.Error)
	}
	for _, p := range []string{"file", "dir"} {
		got, want := exectest.Stage(t, rec, p), exectest.Stage(t, local, p)
		if got.CacheKey != want.CacheKey || got.Metrics["bytes"] != want.Metrics["bytes"] || !sameJSON(got.Files, want.Files) {
			t.Errorf("%s: key %s bytes %v files %v; locally key %s bytes %v files %v", p, got.CacheKey, got.Metrics["bytes"], got.Files,
				want.CacheKey, want.Metrics["bytes"], want.Files)
		}
		var details struct{ Path, Wrote string }
		raw, err := json.Marshal(got.Details)
		if err == nil {
			err = json.Unmarshal(raw, &details)
		}
		if err != nil {
			t.Fatal(err)
		}
		if details.Path != want.Files[0].Path || !strings.HasPrefix(details.Wrote, rec.RunDir) {
			t.Errorf("%s: details %+v name the worker's copies, not the run's paths", p, details)
		}
		b, err := os.ReadFile(filepath.Join(pipeline.WorkDirOf(rec.RunDir, p), "read.txt"))
		if err != nil || len(b) != int(want.Metrics["bytes"]) {
			t.Errorf("%s: what the stage wrote on its worker is not in the run directory: %q %v", p, b, err)
		}
	}
}
