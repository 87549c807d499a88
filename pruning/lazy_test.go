package pruning

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// openTiny saves m and opens it lazily (closed with the test).
func openTiny(t *testing.T, m *model.Model) *model.Model {
	t.Helper()
	dir := t.TempDir()
	if err := m.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	lz, err := model.Open(context.Background(), dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lz.Close(); err != nil {
			t.Error(err)
		}
	})
	return lz
}

// PruneInPlace of a lazy model hands over the same weights and reports
// the same counts as of the model loaded, for every streaming method; it
// returns no mask (held span by span), and a Done that copies what it is
// handed sees final, pinned weights: an unpinned tensor would read as
// zeros. Prune of a lazy model works on a resident copy.
func TestPruneInPlaceLazyMatchesResident(t *testing.T) {
	cal := tinyCalib(3, 8, 32, 5)
	batched := *cal
	batched.Batch = 2
	nm := Pattern{Kind: NM, N: 2, M: 4}
	sgpt := SparseGPTOptions{BlockSize: 8}
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		src := tinyModel(t, arch, 11)
		for _, o := range []Options{
			{Method: Magnitude, Sparsity: 0.45},
			{Method: Magnitude, Pattern: nm},
			{Method: Wanda, Sparsity: 0.5, CalibMode: OnePass},
			{Method: Wanda, Sparsity: 0.5},
			{Method: Wanda, Sparsity: 0.5, Scope: ScopeOWL, OWL: OWLOptions{M: 2}},
			{Method: SparseGPT, Sparsity: 0.5, SparseGPT: sgpt},
			{Method: SparseGPT, Sparsity: 0.5, CalibMode: OnePass, SparseGPT: sgpt},
			// One-pass calibration over several batches (the others fit
			// one, which a lazy model's one-pass SparseGPT prunes block
			// by block as it calibrates).
			{Method: Wanda, Sparsity: 0.5, CalibMode: OnePass, Calib: &batched},
			{Method: SparseGPT, Sparsity: 0.5, CalibMode: OnePass, SparseGPT: sgpt, Calib: &batched},
		} {
			if o.Calib == nil {
				o.Calib = cal
			}
			name := fmt.Sprintf("%s %s %s %s %s batch %d", arch, o.Method, o.Pattern, o.Scope, o.CalibMode, o.Calib.batch())
			run := func(m *model.Model) (map[string][]float32, *Report, *model.Model) {
				got := map[string][]float32{}
				od := o
				od.Done = func(w *model.Model, ts []model.TensorInfo) error {
					for _, x := range ts {
						got[x.Name] = slices.Clone(x.Of(w.W))
					}
					return nil
				}
				out, rep, err := PruneInPlace(context.Background(), m, od)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return got, rep, out
			}
			want, wantRep, _ := run(src.Clone())
			lz := openTiny(t, src)
			got, rep, out := run(lz)
			for n, w := range want {
				if !slices.Equal(got[n], w) {
					t.Errorf("%s: tensor %s handed over differs from the resident prune's", name, n)
				}
			}
			if rep.NonZeroBefore != wantRep.NonZeroBefore || rep.NonZeroAfter != wantRep.NonZeroAfter || !slices.EqualFunc(rep.Tensors, wantRep.Tensors, sameCounts) {
				t.Errorf("%s: report %+v, want %+v", name, rep, wantRep)
			}
			if out.Mask != nil {
				t.Errorf("%s: a lazy prune returned a whole mask", name)
			}
			if !slices.Equal(rep.LayerSparsity, wantRep.LayerSparsity) {
				t.Errorf("%s: layer sparsities %v, want %v", name, rep.LayerSparsity, wantRep.LayerSparsity)
			}
			// Prune (a copy) of the lazy model is the resident Prune.
			a, _, err := Prune(context.Background(), openTiny(t, src), o)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := Prune(context.Background(), src, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.W, b.W) || !a.Mask.Equal(b.Mask) {
				t.Errorf("%s: Prune of a lazy model differs from Prune of it loaded", name)
			}
		}
	}
}

// sameCounts compares two reports of a tensor.
func sameCounts(a, b TensorReport) bool {
	return a.Name == b.Name && a.Params == b.Params && a.NonZeroBefore == b.NonZeroBefore && a.NonZeroAfter == b.NonZeroAfter
}

// What Prune cannot stream on a lazy model is refused with a way out,
// never run on weights that are not resident.
func TestLazyRefusals(t *testing.T) {
	src := tinyModel(t, model.Llama, 3)
	done := func(*model.Model, []model.TensorInfo) error { return nil }
	for _, c := range []struct {
		o       Options
		inPlace bool
		want    string
	}{
		{Options{Method: Magnitude, Sparsity: 0.5}, true, "only when its targets stream"},
		{Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeGlobal, Done: done}, true, "only when its targets stream"},
		{Options{Method: MethodL1, Sparsity: 0.5, Pattern: Pattern{Kind: Neurons}}, false, "resident"},
	} {
		lz := openTiny(t, src)
		var err error
		if c.inPlace {
			_, _, err = PruneInPlace(context.Background(), lz, c.o)
		} else {
			_, _, err = Prune(context.Background(), lz, c.o)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.o, err, c.want)
		}
	}
	if _, err := DryRun(openTiny(t, src), Options{Method: Magnitude, Sparsity: 0.5}); err == nil {
		t.Error("DryRun of a lazy model: no error")
	}
}
