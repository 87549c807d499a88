package pruning

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"lopper/model"
)

// PruneInPlace gives the weights, mask and report that Prune gives, for
// every unstructured and N:M driver (scored, Wanda block by block and in
// one pass, SparseGPT, OWL) and for a model that is already sparse; it
// returns the model it was given, pruned, except for structured patterns,
// which leave it unchanged as Prune does.
func TestPruneInPlaceMatchesPrune(t *testing.T) {
	cal := tinyCalib(3, 8, 32, 5)
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		for _, o := range []Options{
			{Method: Magnitude, Sparsity: 0.45},
			{Method: Magnitude, Sparsity: 0.45, Scope: ScopeGlobal},
			{Method: Random, Sparsity: 0.3, Seed: 3},
			{Method: Wanda, Sparsity: 0.5},
			{Method: Wanda, Sparsity: 0.5, CalibMode: OnePass},
			{Method: Wanda, Sparsity: 0.5, Scope: ScopeOWL},
			{Method: Wanda, Pattern: Pattern{Kind: NM, N: 2, M: 4}},
			{Method: SparseGPT, Sparsity: 0.5, SparseGPT: SparseGPTOptions{BlockSize: 8}},
			{Method: SparseGPT, Sparsity: 0.5, CalibMode: OnePass, SparseGPT: SparseGPTOptions{BlockSize: 8}},
			{Method: Taylor, Sparsity: 0.4},
			{Method: Method(ByL2), Pattern: Pattern{Kind: Neurons}, Sparsity: 0.25},
		} {
			o.Calib = cal
			for _, sparse := range []bool{false, true} {
				m := tinyModel(t, arch, 11)
				if sparse { // a pruned model: its mask must survive
					var err error
					if m, _, err = Prune(context.Background(), m, Options{Method: Magnitude, Sparsity: 0.2}); err != nil {
						t.Fatal(err)
					}
				}
				want, wantRep, err := Prune(context.Background(), m, o)
				if err != nil {
					t.Fatalf("%s %+v: %v", arch, o, err)
				}
				in := m.Clone()
				got, gotRep, err := PruneInPlace(context.Background(), in, o)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.W, want.W) || !got.Mask.Equal(want.Mask) {
					t.Errorf("%s %+v (sparse %v): in place, other weights or mask", arch, o, sparse)
				}
				a, _ := json.Marshal(wantRep)
				b, _ := json.Marshal(gotRep)
				if string(a) != string(b) {
					t.Errorf("%s %+v: reports differ:\n%s\n%s", arch, o, a, b)
				}
				structured := o.Pattern.structured()
				if (got == in) == structured {
					t.Errorf("%s %+v: returned the input model: %v", arch, o, got == in)
				}
				if structured && !slices.Equal(in.W, m.W) {
					t.Errorf("%s %+v: structured pruning changed its input", arch, o)
				}
			}
		}
	}
}

// CheckOptions accepts what DryRun accepts and refuses what it refuses,
// with the same error.
func TestCheckOptionsAgreesWithDryRun(t *testing.T) {
	m := tinyModel(t, model.Llama, 2)
	for _, o := range []Options{
		{Method: Magnitude, Sparsity: 0.5},
		{Method: Wanda, Pattern: Pattern{Kind: NM, N: 2, M: 4}},
		{Method: Magnitude, Sparsity: 1.5},
		{Method: "nope", Sparsity: 0.5},
		{Method: Magnitude, Pattern: Pattern{Kind: NM, N: 2, M: 5}},
		{Method: Magnitude, Sparsity: 0.5, Targets: TargetSpec{Include: []string{`(`}}},
		{Method: Magnitude, Sparsity: 0.5, Targets: TargetSpec{Include: []string{`nothing matches`}}},
		{Method: Method(ByL2), Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5},
	} {
		_, want := DryRun(m, o)
		got := CheckOptions(m, o)
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Errorf("%+v: CheckOptions %v, DryRun %v", o, got, want)
		}
	}
}
