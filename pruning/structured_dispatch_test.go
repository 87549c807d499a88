package pruning

import (
	"context"
	"reflect"
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
	if !reflect.DeepEqual(so, want) { // Progress nil in both

		t.Errorf("got %+v, want %+v", so, want)
	}
	so, err = StructuredOptionsFrom(Options{Method: MethodBlockInfluence, Pattern: Pattern{Kind: Layers}, Sparsity: 0.25, Scope: ScopeGlobal})
	if err != nil || so.Criterion != ByBlockInfluence || so.Scope != AllocGlobal || so.Structure != StructLayers {
		t.Errorf("layers: %+v, %v", so, err)
	}
	// The structured criteria by their own names, and the head mode and
	// non-uniform policy, carry over.
	for _, c := range []struct {
		method Method
		want   StructCriterion
	}{{MethodL1, ByL1}, {MethodL2, ByL2}, {MethodActivation, ByActivation}, {Magnitude, ByL2}, {Taylor, ByTaylor}, {Random, ByRandom}} {
		so, err := StructuredOptionsFrom(Options{Method: c.method, Pattern: Pattern{Kind: Heads}, Sparsity: 0.5, Scope: ScopeGlobal,
			HeadMode: HeadsQuery, NonUniform: NonUniformKeep})
		if err != nil || so.Criterion != c.want || so.HeadMode != HeadsQuery || so.NonUniform != NonUniformKeep || so.Scope != AllocGlobal {
			t.Errorf("method %s: %+v, %v; want criterion %s, query heads, keep", c.method, so, err, c.want)
		}
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
		{Options{Method: MethodL1, Pattern: Pattern{Kind: Layers}, Sparsity: 0.5}, "use block_influence"},
		{Options{Method: MethodActivation, Pattern: Pattern{Kind: Layers}, Sparsity: 0.5}, "use block_influence"},
		{Options{Method: MethodL2, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5, HeadMode: HeadsQuery}, "head mode applies to pattern heads only"},
		{Options{Method: MethodL2, Pattern: Pattern{Kind: Heads}, Sparsity: 0.5, HeadMode: "query"}, `head mode "query"`},
		{Options{Method: MethodL2, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5, Scope: ScopeGlobal, NonUniform: "drop"}, `non-uniform policy "drop"`},
	}
	for _, c := range bad {
		if _, err := StructuredOptionsFrom(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}

	// Weight patterns refuse the structured options.
	for _, o := range []Options{
		{Method: Magnitude, Sparsity: 0.5, HeadMode: HeadsQuery},
		{Method: Magnitude, Sparsity: 0.5, NonUniform: NonUniformKeep},
		{Method: MethodL1, Sparsity: 0.5},
	} {
		if _, err := o.normalize(); err == nil || !strings.Contains(err.Error(), "structured") {
			t.Errorf("%+v on weights: error %v, want one naming the structured patterns", o, err)
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
