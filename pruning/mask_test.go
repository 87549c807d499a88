package pruning

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

func prune(t *testing.T, m *model.Model, o Options) (*model.Model, *Report) {
	t.Helper()
	out, rep, err := Prune(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyMasks(out, nil); err != nil {
		t.Fatal(err)
	}
	return out, rep
}

// 2:4 and 4:8: every group of M consecutive inputs of every row keeps
// exactly N weights, the N largest |w| of the group.
func TestNMGroups(t *testing.T) {
	m := tinyModel(t, model.Llama, 1)
	for _, p := range []Pattern{{Kind: NM, N: 2, M: 4}, {Kind: NM, N: 4, M: 8}, {Kind: NM, N: 1, M: 4}} {
		out, rep := prune(t, m, Options{Method: Magnitude, Pattern: p})
		for _, ti := range rep.Tensors {
			tt, _ := m.Layout.Lookup(ti.Name)
			w, k := tt.Of(m.W), tensorMask(out, tt)
			for g := 0; g < len(w); g += p.M {
				kept := 0
				minKept, maxPruned := math.Inf(1), math.Inf(-1)
				for j := g; j < g+p.M; j++ {
					a := math.Abs(float64(w[j]))
					if k[j] != 0 {
						kept++
						minKept = math.Min(minKept, a)
					} else {
						maxPruned = math.Max(maxPruned, a)
					}
				}
				if kept != p.N || maxPruned > minKept {
					t.Fatalf("%s %s group at %d: %d kept (want %d), largest pruned %g > smallest kept %g", p, ti.Name, g, kept, p.N, maxPruned, minKept)
				}
			}
		}
		want := 1 - float64(p.N)/float64(p.M)
		if got := rep.SparsityAfter(); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: sparsity %g, want %g", p, got, want)
		}
	}
}

// A target whose input dimension does not divide M is refused by name.
func TestNMRefusesIndivisible(t *testing.T) {
	m := tinyModel(t, model.Llama, 1) // inputs 16 and 24
	_, _, err := Prune(context.Background(), m, Options{Method: Magnitude, Pattern: Pattern{Kind: NM, N: 4, M: 16}})
	if err == nil || !strings.Contains(err.Error(), "mlp.down_proj.weight") {
		t.Fatalf("want an error naming down_proj (24 inputs), got %v", err)
	}
}

// Row scope: every row ends with exactly round(s·cols) zeros, the lowest
// scores of the row; layer scope: every tensor with round(s·size).
func TestRowAndLayerCounts(t *testing.T) {
	m := tinyModel(t, model.GPT2, 2)
	for _, scope := range []Scope{ScopeRow, ScopeLayer} {
		out, rep := prune(t, m, Options{Method: Magnitude, Sparsity: 0.3, Scope: scope})
		for _, ti := range rep.Tensors {
			tt, _ := m.Layout.Lookup(ti.Name)
			rows, cols := rowsCols(tt)
			if scope == ScopeLayer {
				rows, cols = 1, tt.Size
			}
			w, k := tt.Of(m.W), tensorMask(out, tt)
			for r := range rows {
				zeros := 0
				minKept, maxPruned := math.Inf(1), math.Inf(-1)
				for j := r * cols; j < (r+1)*cols; j++ {
					if k[j] == 0 {
						zeros++
						maxPruned = math.Max(maxPruned, math.Abs(float64(w[j])))
					} else {
						minKept = math.Min(minKept, math.Abs(float64(w[j])))
					}
				}
				if zeros != countFor(0.3, cols) || maxPruned > minKept {
					t.Fatalf("%s %s row %d: %d zeros (want %d), largest pruned %g > smallest kept %g", scope, ti.Name, r, zeros, countFor(0.3, cols), maxPruned, minKept)
				}
			}
		}
	}
}

// Global scope: one threshold over all targets, so different tensors end
// with different sparsities but every pruned |w| is below every kept one.
func TestGlobalThreshold(t *testing.T) {
	m := tinyModel(t, model.Llama, 3)
	// Scale one tensor down so that global pruning hits it hardest.
	small, _ := m.Layout.Lookup("model.layers.1.self_attn.o_proj.weight")
	for i := range small.Of(m.W) {
		small.Of(m.W)[i] *= 0.1
	}
	out, rep := prune(t, m, Options{Method: Magnitude, Sparsity: 0.4, Scope: ScopeGlobal})
	maxPruned, minKept := 0.0, math.Inf(1)
	for _, tt := range m.Layout.Tensors {
		if !model.Prunable(tt) {
			continue
		}
		for j, v := range tt.Of(m.W) {
			if tensorMask(out, tt)[j] == 0 {
				maxPruned = math.Max(maxPruned, math.Abs(float64(v)))
			} else {
				minKept = math.Min(minKept, math.Abs(float64(v)))
			}
		}
	}
	if maxPruned > minKept {
		t.Errorf("largest pruned %g above smallest kept %g", maxPruned, minKept)
	}
	if rep.NonZeroBefore-rep.NonZeroAfter != countFor(0.4, rep.Params) {
		t.Errorf("removed %d, want %d", rep.Removed(), countFor(0.4, rep.Params))
	}
	for _, ti := range rep.Tensors {
		if ti.Name == small.Name && ti.NonZeroAfter != 0 {
			t.Errorf("the scaled-down tensor keeps %d weights; a global threshold should take all of it", ti.NonZeroAfter)
		}
	}
}

// OWL on hand-made scores: block outlier ratios 0 % and 10 % with λ=0.08
// give sparsities s+λ and s−λ (rescaled to [0, 2λ], mean-shifted).
func TestOWLSparsities(t *testing.T) {
	l := &model.Layout{Tensors: []model.TensorInfo{
		{Name: "a", Layer: 0, Shape: []int{10, 10}, Offset: 0, Size: 100},
		{Name: "b", Layer: 1, Shape: []int{10, 10}, Offset: 100, Size: 100},
		{Name: "c", Layer: 2, Shape: []int{10, 10}, Offset: 200, Size: 100},
	}}
	scores := make([]float32, 300)
	for i := range scores {
		scores[i] = 1
	}
	for i := 100; i < 110; i++ { // block 1: 10 outliers (> 5 × mean)
		scores[i] = 100
	}
	for i := 200; i < 205; i++ { // block 2: 5 outliers
		scores[i] = 100
	}
	byBlock := [][]model.TensorInfo{{l.Tensors[0]}, {l.Tensors[1]}, {l.Tensors[2]}}
	got := owlSparsities(byBlock, scores, 0.5, OWLOptions{Lambda: 0.08, M: 5})
	// Ratios 0, 0.10, 0.05 → [0, 0.16, 0.08], mean 0.08 → densities
	// 0.42, 0.58, 0.50.
	want := []float64{0.58, 0.42, 0.5}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("OWL sparsities %v, want %v", got, want)
		}
	}
	// Equal ratios: uniform.
	flat := owlSparsities(byBlock, make([]float32, 300), 0.7, OWLOptions{Lambda: 0.08, M: 5})
	if !slices.Equal(flat, []float64{0.7, 0.7, 0.7}) {
		t.Errorf("equal outlier ratios gave %v, want uniform 0.7", flat)
	}
}

// OWL end to end: per-layer sparsities average to the target, each row of
// block l has round(s_l·cols) zeros.
func TestOWLPrune(t *testing.T) {
	m := tinyModel(t, model.Llama, 4)
	cal := tinyCalib(4, 16, 32, 1)
	out, rep := prune(t, m, Options{Method: Wanda, Sparsity: 0.5, Scope: ScopeOWL, Calib: cal, OWL: OWLOptions{Lambda: 0.1}})
	if len(rep.LayerSparsity) != 2 || math.Abs((rep.LayerSparsity[0]+rep.LayerSparsity[1])/2-0.5) > 1e-12 {
		t.Fatalf("layer sparsities %v should average 0.5", rep.LayerSparsity)
	}
	if rep.LayerSparsity[0] == rep.LayerSparsity[1] {
		t.Fatalf("layer sparsities %v: random blocks should differ in outliers", rep.LayerSparsity)
	}
	for _, tt := range m.Layout.Tensors {
		if !model.Prunable(tt) {
			continue
		}
		rows, cols := rowsCols(tt)
		want := countFor(rep.LayerSparsity[tt.Layer], cols)
		for r := range rows {
			if z := zerosIn(tensorMask(out, tt)[r*cols : (r+1)*cols]); z != want {
				t.Fatalf("%s row %d: %d zeros, want %d", tt.Name, r, z, want)
			}
		}
	}
}

// Re-pruning raises sparsity from where it is: the target counts the
// weights already pruned, and no pruned weight comes back — also when
// the first result is saved and loaded (zeros without a mask).
func TestRepruneMonotonic(t *testing.T) {
	m := tinyModel(t, model.Llama, 5)
	cal := tinyCalib(4, 16, 32, 2)
	for _, method := range []Method{Magnitude, Random, Wanda, SparseGPT, Taylor} {
		for _, scope := range []Scope{ScopeRow, ScopeLayer, ScopeGlobal} {
			if method == SparseGPT && scope != ScopeLayer || method == Wanda && scope == ScopeGlobal {
				continue
			}
			o := Options{Method: method, Sparsity: 0.3, Scope: scope, Calib: cal, Seed: 9}
			first, _ := prune(t, m, o)
			o.Sparsity = 0.6
			for _, in := range []*model.Model{first, withoutMask(first)} {
				second, rep := prune(t, in, o)
				for i, k := range first.Mask.Bytes() {
					if k == 0 && second.Mask.Get(i) {
						t.Fatalf("%s/%s: entry %d revived", method, scope, i)
					}
				}
				// A fresh prune to 0.6 ends with the same count: the first
				// prune's zeros are a subset of every group's target.
				fresh, err := DryRun(m, o)
				if err != nil {
					t.Fatal(err)
				}
				if rep.NonZeroAfter != fresh.NonZeroAfter || rep.SparsityBefore() < 0.29 {
					t.Errorf("%s/%s: sparsity %.4f → %.4f, want %.4f", method, scope, rep.SparsityBefore(), rep.SparsityAfter(), fresh.SparsityAfter())
				}
			}
		}
	}
}

// withoutMask is m as a pruned model loaded from disk: zeros, no mask.
func withoutMask(m *model.Model) *model.Model {
	c := m.Clone()
	c.Mask = nil
	return c
}

// Random pruning is a function of its seed.
func TestRandomSeeded(t *testing.T) {
	m := tinyModel(t, model.GPT2, 6)
	a, _ := prune(t, m, Options{Method: Random, Sparsity: 0.5, Seed: 42})
	b, _ := prune(t, m, Options{Method: Random, Sparsity: 0.5, Seed: 42})
	c, _ := prune(t, m, Options{Method: Random, Sparsity: 0.5, Seed: 43})
	if !a.Mask.Equal(b.Mask) {
		t.Error("the same seed gave different masks")
	}
	if a.Mask.Equal(c.Mask) {
		t.Error("different seeds gave the same mask")
	}
	// Uncorrelated with magnitude: about half of the pruned are below the
	// median |w| of their tensor.
	mag, _ := prune(t, m, Options{Method: Magnitude, Sparsity: 0.5})
	same, n := 0, 0
	for _, tt := range m.Layout.Tensors {
		if model.Prunable(tt) {
			for j, k := range tensorMask(a, tt) {
				if k == 0 {
					n++
					if tensorMask(mag, tt)[j] == 0 {
						same++
					}
				}
			}
		}
	}
	if f := float64(same) / float64(n); f < 0.4 || f > 0.6 {
		t.Errorf("%.2f of random's pruned weights are magnitude's; want about 0.5", f)
	}
}
