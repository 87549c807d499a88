package stages

import (
	"fmt"
	"path/filepath"
	"testing"
)

// method magnitude with a structured pattern is l2 (the norm of each
// structure's weights), as lopper prune and pruning.Options take it.
func TestPruneStructuredMagnitudeIsL2(t *testing.T) {
	src := filepath.Join(repoRoot(t), "model", "testdata", "goldens", "llama-bf16")
	rec := run(t, parseRecipe(t, t.TempDir(), fmt.Sprintf(`version: 1
name: mag
stages:
  base: {uses: load, with: {path: %q}}
  mag: {uses: prune, with: {model: base, pattern: neurons, method: magnitude, sparsity: 0.5}}
  l2: {uses: prune, with: {model: base, pattern: neurons, method: l2, sparsity: 0.5}}
  l1: {uses: prune, with: {model: base, pattern: neurons, method: l1, sparsity: 0.5}}
`, src)))
	mag, l2, l1 := modelOf(t, stage(t, rec, "mag")), modelOf(t, stage(t, rec, "l2")), modelOf(t, stage(t, rec, "l1"))
	if mag.Digest() != l2.Digest() {
		t.Errorf("magnitude neurons %s, l2 %s", mag.Digest(), l2.Digest())
	}
	if mag.Model.NumParams() >= modelOf(t, stage(t, rec, "base")).Model.NumParams() || l1.Digest() == l2.Digest() {
		t.Error("the neurons were not removed, or l1 and l2 chose alike (the comparison proves nothing)")
	}
}
