package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
)

// lopper run --max-memory below the recipe's resident estimate opens the
// models lazily and says so; the metrics, artifact digests and saved
// weights are those of the resident run (auto, on a machine where the
// quickstart model fits). A multiple of the checkpoint's bytes on disk
// bounds its float32 weights.
func TestRunMaxMemoryChoosesLazyModels(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(repoPath(p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	src := `version: 1
name: lazy
params:
  model: {type: path, default: m}
  text: {type: path, default: t.txt}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  before: {uses: evaluate, with: {model: base, text: "${{ params.text }}", seq_len: 32, limit: 4, size: true}}
  wanda: {uses: prune, with: {model: base, method: wanda, sparsity: 0.5, calib: {file: "${{ params.text }}", samples: 4, seq_len: 32}}}
  magnitude: {uses: prune, with: {model: wanda, method: magnitude, sparsity: 0.6}}
  sparsegpt: {uses: prune, with: {model: base, method: sparsegpt, sparsity: 0.5, calib: {file: "${{ params.text }}", samples: 4, seq_len: 32}}}
  after: {uses: evaluate, with: {model: magnitude, text: "${{ params.text }}", seq_len: 32, limit: 4, size: true, baseline: before}}
  after_sgpt: {uses: evaluate, with: {model: sparsegpt, text: "${{ params.text }}", seq_len: 32, limit: 4}}
  save: {uses: save, with: {model: magnitude, path: model}}
`
	file := recipeFile(t, "r.yaml", src)
	run := func(budget, mode string) (map[string]*pipeline.StageRecord, string) {
		t.Helper()
		out := t.TempDir()
		code, stdout, stderr := lopper(context.Background(), "run", file, "--out", out, "--no-cache", "--max-memory", budget,
			"--set", "model="+abs("quickstart/model"), "--set", "text="+abs("quickstart/eval.txt"))
		if code != exitOK {
			t.Fatalf("--max-memory %s: exit %d\n%s\n%s", budget, code, stdout, stderr)
		}
		if want := "memory mode: mode=" + mode; !strings.Contains(stderr, want) {
			t.Errorf("--max-memory %s: the log does not say %q:\n%s", budget, want, stderr)
		}
		runs, _ := filepath.Glob(filepath.Join(out, "*", "run.json"))
		if len(runs) != 1 {
			t.Fatalf("run.json files: %v", runs)
		}
		b, err := os.ReadFile(runs[0])
		if err != nil {
			t.Fatal(err)
		}
		var rec pipeline.RunRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		stages := map[string]*pipeline.StageRecord{}
		rec.Walk(func(s *pipeline.StageRecord) { stages[s.Path] = s })
		return stages, filepath.Dir(runs[0])
	}
	resident, residentDir := run("auto", "resident")
	for _, budget := range []string{"1KiB", "0.5x"} {
		lazy, lazyDir := run(budget, "lazy")
		for path, a := range resident {
			b := lazy[path]
			if b == nil || !maps.Equal(a.Metrics, b.Metrics) || !maps.Equal(a.Artifacts, b.Artifacts) {
				t.Errorf("--max-memory %s: stage %s differs from the resident run's: %+v, %+v", budget, path, a, b)
			}
		}
		for _, f := range []string{"model.safetensors", "config.json"} {
			want, err1 := os.ReadFile(filepath.Join(residentDir, "model", f))
			got, err2 := os.ReadFile(filepath.Join(lazyDir, "model", f))
			if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
				t.Errorf("--max-memory %s: saved %s differs (%v, %v)", budget, f, err1, err2)
			}
		}
	}
	if len(resident) != 8 {
		t.Errorf("%d stages", len(resident))
	}
	// The quickstart model is float32: its weights are its bytes on disk.
	run("1.1x", "resident")
}

// lopper run --max-memory takes what lopper eval's does, and is for local
// runs.
func TestRunMaxMemoryUsage(t *testing.T) {
	file := recipeFile(t, "r.yaml", validRecipe)
	for _, args := range [][]string{
		{"--max-memory", "lots"},
		{"--max-memory", "1x", "--temporal", "127.0.0.1:1", "--store", "mem://"},
	} {
		code, _, stderr := lopper(context.Background(), append([]string{"run", file, "--out", t.TempDir()}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "--max-memory") {
			t.Errorf("%v: exit %d, want %d naming --max-memory: %s", args, code, exitUsage, stderr)
		}
	}
}
