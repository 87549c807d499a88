package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
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
