package pruning

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// The top-level Options of a structured pattern map onto StructuredOptions,
// and pruneStructured gives what PruneStructured gives for the mapped
// options.
func TestStructuredOptionsFrom(t *testing.T) {
	cal := &Calibration{Tokens: make([]int32, 64), SeqLen: 16}
	so, err := StructuredOptionsFrom(Options{Method: Wanda, Pattern: Pattern{Kind: Heads}, Sparsity: 0.5, Scope: ScopeRow, Calib: cal, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := StructuredOptions{Structure: StructHeads, Criterion: ByWanda, Ratio: 0.5, Scope: AllocPerLayer, Calibration: cal, Seed: 4}
	if so != want {
		t.Errorf("got %+v, want %+v", so, want)
	}
	so, err = StructuredOptionsFrom(Options{Method: MethodBlockInfluence, Pattern: Pattern{Kind: Layers}, Sparsity: 0.25, Scope: ScopeGlobal})
	if err != nil || so.Criterion != ByBlockInfluence || so.Scope != AllocGlobal || so.Structure != StructLayers {
		t.Errorf("layers: %+v, %v", so, err)
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{Method: SparseGPT, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5}, "no structured form"},
		{Options{Method: Magnitude, Pattern: Pattern{Kind: Layers}, Sparsity: 0.5}, "use block_influence"},
		{Options{Method: MethodBlockInfluence, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5}, "scores whole layers"},
		{Options{Method: Magnitude, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5, Scope: ScopeOWL}, "scope owl does not apply"},
		{Options{Method: Magnitude, Pattern: Pattern{Kind: Neurons}}, "needs a sparsity"},
		{Options{Method: Magnitude, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5, Targets: TargetSpec{Include: []string{"q_proj"}}}, "do not apply"},
		{Options{Method: Magnitude, Pattern: Pattern{Kind: Unstructured}, Sparsity: 0.5}, "not structured"},
	}
	for _, c := range bad {
		if _, err := StructuredOptionsFrom(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}

	m := stRandomModel(t, stGPT2Config(2, 4, 16), 21)
	a, _, err := pruneStructured(context.Background(), m, Options{Method: Magnitude, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := PruneStructured(context.Background(), m, StructuredOptions{Structure: StructNeurons, Criterion: ByL2, Ratio: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.W, b.W) || a.Config.Layers[0].Intermediate != 12 {
		t.Errorf("dispatch result differs (intermediate %d)", a.Config.Layers[0].Intermediate)
	}
}
