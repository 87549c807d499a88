package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
	"lopper/pruning"
)

// lopper prune and the prune stage share one sparsity rule: 1 (every
// weight) is refused by both, with the same words, and nothing is written.
func TestPruneCLISparsityRule(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	rule := pruning.CheckSparsity(1).Error()
	for _, pattern := range []string{"unstructured", "heads"} {
		out := filepath.Join(t.TempDir(), "x")
		method := map[string]string{"unstructured": "magnitude", "heads": "l2"}[pattern]
		code, _, stderr := runPruneCLI("--model", dir, "--out", out, "--method", method, "--pattern", pattern, "--sparsity", "1.0")
		if code != exitUsage || !strings.Contains(stderr, "sparsity "+rule) {
			t.Errorf("--pattern %s --sparsity 1.0: exit %d, stderr %q; want %d and %q", pattern, code, stderr, exitUsage, "sparsity "+rule)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("--sparsity 1.0 wrote %s", out)
		}
	}
	recipe := recipeFile(t, "r.yaml", `version: 1
stages:
  base: {uses: load, with: {path: `+dir+`}}
  p: {uses: prune, with: {model: base, method: magnitude, sparsity: 1.0}}
`)
	code, _, stderr := lopper(context.Background(), "validate", recipe)
	if code != exitUsage || !strings.Contains(stderr, "sparsity: "+rule) {
		t.Errorf("recipe with sparsity 1.0: exit %d, stderr %q; want %q", code, stderr, "sparsity: "+rule)
	}
}

// A GPT-2 with heads removed cannot be loaded by Hugging Face: lopper prune
// refuses to save it, as the save stage does, unless --uniform keep says
// to write it anyway.
func TestPruneCLIUniformRule(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-gpt2")
	out := filepath.Join(t.TempDir(), "heads")
	args := []string{"--model", dir, "--out", out, "--method", "l2", "--pattern", "heads", "--sparsity", "0.5"}
	code, _, stderr := runPruneCLI(args...)
	want := "Hugging Face could not load this model: GPT-2 with 2 heads of 16 dims does not span n_embd 64"
	if code != exitFailed || !strings.Contains(stderr, want) || !strings.Contains(stderr, "--uniform keep") {
		t.Errorf("exit %d, stderr %q; want %d, %q and the --uniform keep opt-in", code, stderr, exitFailed, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused model was written to %s", out)
	}
	if code, _, stderr := runPruneCLI(append(args, "--uniform", "drop")...); code != exitUsage || !strings.Contains(stderr, `--uniform: "drop" is not a policy`) {
		t.Errorf("--uniform drop: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runPruneCLI(append(args, "--uniform", "keep")...)
	if code != exitOK {
		t.Fatalf("--uniform keep: exit %d: %s", code, stderr)
	}
	m, err := model.Load(out, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Layers[0].Heads != 2 || m.Config.HFCompatible() == nil {
		t.Errorf("saved dims %+v: want 2 heads, not HF-compatible", m.Config.Layers[0])
	}
	b, err := os.ReadFile(filepath.Join(out, "lopper.json"))
	if err != nil || !strings.Contains(string(b), `"hf_compatible": false`) {
		t.Errorf("lopper.json (%v): %s", err, b)
	}
}
