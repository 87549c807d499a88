package pruning

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// progressCall is one call of a ProgressFunc.
type progressCall struct {
	done, total int
	unit        string
}

// progressRecorder records the calls of a ProgressFunc. It takes no lock
// of its own: ProgressFunc promises serialised calls, which -race checks.
type progressRecorder struct{ calls []progressCall }

func (r *progressRecorder) fn() ProgressFunc {
	return func(done, total int, unit string) { r.calls = append(r.calls, progressCall{done, total, unit}) }
}

// phases splits the calls into phases and checks the contract: a phase
// starts with done = 0, keeps its unit and total, done grows strictly,
// and it ends at done = total. It returns each phase's unit and total.
func (r *progressRecorder) phases(t *testing.T) []progressCall {
	t.Helper()
	var out []progressCall
	for i, c := range r.calls {
		if c.done == 0 {
			if n := len(out); n > 0 && i > 0 && r.calls[i-1].done != out[n-1].total {
				t.Errorf("phase %q ended at %d of %d", out[n-1].unit, r.calls[i-1].done, out[n-1].total)
			}
			out = append(out, progressCall{0, c.total, c.unit})
			continue
		}
		if len(out) == 0 {
			t.Fatalf("call %d (%+v) before any phase started with done = 0", i, c)
		}
		cur := out[len(out)-1]
		prev := r.calls[i-1]
		if c.unit != cur.unit || c.total != cur.total || c.done <= prev.done || c.done > c.total {
			t.Errorf("call %d %+v after %+v in phase %q of %d: not a monotone count", i, c, prev, cur.unit, cur.total)
		}
	}
	if n := len(out); n > 0 && r.calls[len(r.calls)-1].done != out[n-1].total {
		t.Errorf("last phase %q ended at %d of %d", out[n-1].unit, r.calls[len(r.calls)-1].done, out[n-1].total)
	}
	return out
}

// sameModel fails unless a and b have the same config dims, layout,
// weight bits and mask.
func sameModel(t *testing.T, a, b *model.Model) {
	t.Helper()
	if fmt.Sprint(a.Config.Layers) != fmt.Sprint(b.Config.Layers) || a.Layout.Total != b.Layout.Total {
		t.Fatalf("dims %v vs %v", a.Config.Layers, b.Config.Layers)
	}
	for i := range a.W {
		if math.Float32bits(a.W[i]) != math.Float32bits(b.W[i]) {
			t.Fatalf("weight %d: %g with progress, %g without", i, a.W[i], b.W[i])
		}
	}
	if !a.Mask.Equal(b.Mask) {
		t.Fatal("masks differ with and without progress")
	}
}

// Pruning reports every phase of its work — calibration windows, blocks,
// tensors scored and pruned, layers scored — with counts that start at 0,
// only grow and end at the total, and gives the same bits with and
// without a ProgressFunc.
func TestPruneProgress(t *testing.T) {
	const windows, blocks = 6, 2
	cal := tinyCalib(windows, 8, 32, 3)
	cal.Batch = 4 // two batches: 4, then 6 windows
	tensors := map[model.Arch]int{model.Llama: 14, model.GPT2: 8}
	type ph struct {
		unit  string
		total int // -1: the number of targets
	}
	scored, pruned := ph{UnitTensorsScored, -1}, ph{UnitTensorsPruned, -1}
	win, blk, lay := ph{UnitWindows, windows}, ph{UnitBlocks, blocks}, ph{UnitLayersScored, blocks}
	cases := []struct {
		name string
		o    Options
		want []ph
	}{
		{"magnitude layer", Options{Method: Magnitude, Sparsity: 0.5}, []ph{pruned}}, // tensor by tensor
		{"magnitude global", Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeGlobal}, []ph{scored, pruned}},
		{"random row", Options{Method: Random, Sparsity: 0.3, Scope: ScopeRow, Seed: 2}, []ph{pruned}},
		{"magnitude 2:4", Options{Method: Magnitude, Pattern: Pattern{Kind: NM, N: 2, M: 4}}, []ph{pruned}},
		{"magnitude owl", Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeOWL}, []ph{scored, pruned}},
		{"wanda sequential", Options{Method: Wanda, Sparsity: 0.5, Calib: cal}, []ph{blk}},
		{"wanda one-pass", Options{Method: Wanda, Sparsity: 0.5, Calib: cal, CalibMode: OnePass}, []ph{win, pruned}},
		{"wanda one-pass global", Options{Method: Wanda, Sparsity: 0.5, Calib: cal, CalibMode: OnePass, Scope: ScopeGlobal}, []ph{win, scored, pruned}},
		{"wanda owl", Options{Method: Wanda, Sparsity: 0.5, Calib: cal, Scope: ScopeOWL}, []ph{win, blk}},
		{"sparsegpt sequential", Options{Method: SparseGPT, Sparsity: 0.5, Calib: cal}, []ph{pruned}},
		{"sparsegpt one-pass 2:4", Options{Method: SparseGPT, Pattern: Pattern{Kind: NM, N: 2, M: 4}, Calib: cal, CalibMode: OnePass}, []ph{win, pruned}},
		{"taylor", Options{Method: Taylor, Sparsity: 0.5, Calib: cal}, []ph{win, scored, pruned}},
		{"neurons l2", Options{Method: MethodL2, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5}, []ph{lay}},
		{"neurons activation", Options{Method: MethodActivation, Pattern: Pattern{Kind: Neurons}, Sparsity: 0.5, Calib: cal}, []ph{win, lay}},
		{"heads taylor", Options{Method: Taylor, Pattern: Pattern{Kind: Heads}, Sparsity: 0.5, Calib: cal}, []ph{win, lay}},
		{"layers block influence", Options{Method: MethodBlockInfluence, Pattern: Pattern{Kind: Layers}, Sparsity: 0.5, Calib: cal}, []ph{win}},
	}
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		m := tinyModel(t, arch, 5)
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s", arch, c.name), func(t *testing.T) {
				plain, _, err := Prune(context.Background(), m, c.o)
				if err != nil {
					t.Fatal(err)
				}
				var rec progressRecorder
				o := c.o
				o.Progress = rec.fn()
				got, _, err := Prune(context.Background(), m, o)
				if err != nil {
					t.Fatal(err)
				}
				sameModel(t, got, plain)
				var want []string
				for _, p := range c.want {
					if p.total < 0 {
						p.total = tensors[arch]
					}
					want = append(want, fmt.Sprintf("%s/%d", p.unit, p.total))
				}
				var have []string
				for _, p := range rec.phases(t) {
					have = append(have, fmt.Sprintf("%s/%d", p.unit, p.total))
				}
				if !slices.Equal(have, want) {
					t.Errorf("phases %v, want %v\ncalls %v", have, want, rec.calls)
				}
			})
		}
	}
}

// Score and PruneScored report their phases too, and progress changes no
// score.
func TestScoreProgress(t *testing.T) {
	m := tinyModel(t, model.Llama, 6)
	cal := tinyCalib(5, 8, 32, 4)
	cal.Batch = 2
	for _, method := range []Method{Magnitude, Random, Wanda, Taylor} {
		plain, err := Score(context.Background(), m, ScoreOptions{Method: method, Calib: cal})
		if err != nil {
			t.Fatal(err)
		}
		var rec progressRecorder
		sc, err := Score(context.Background(), m, ScoreOptions{Method: method, Calib: cal, Progress: rec.fn()})
		if err != nil {
			t.Fatal(err)
		}
		for i := range sc.Values {
			if math.Float32bits(sc.Values[i]) != math.Float32bits(plain.Values[i]) {
				t.Fatalf("%s: score %d differs with progress", method, i)
			}
		}
		var have []string
		for _, p := range rec.phases(t) {
			have = append(have, fmt.Sprintf("%s/%d", p.unit, p.total))
		}
		want := "tensors scored/14"
		if method.NeedsCalibration() {
			want = "calibration windows/5 " + want
		}
		if strings.Join(have, " ") != want {
			t.Errorf("%s: phases %v, want %s", method, have, want)
		}

		var prec progressRecorder
		out, _, err := PruneScored(context.Background(), m, sc, Options{Sparsity: 0.4, Progress: prec.fn()})
		if err != nil {
			t.Fatal(err)
		}
		ref, _, err := PruneScored(context.Background(), m, plain, Options{Sparsity: 0.4})
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, out, ref)
		if ph := prec.phases(t); len(ph) != 1 || ph[0].unit != UnitTensorsPruned || ph[0].total != 14 {
			t.Errorf("%s: PruneScored phases %v", method, ph)
		}
	}
}

// A failed or cancelled call stops reporting: no phase claims to be
// complete.
func TestProgressStopsOnCancel(t *testing.T) {
	m := tinyModel(t, model.Llama, 7)
	ctx, cancel := context.WithCancel(context.Background())
	var calls []progressCall
	o := Options{Method: Wanda, Sparsity: 0.5, Calib: tinyCalib(4, 8, 32, 1), Progress: func(done, total int, unit string) {
		calls = append(calls, progressCall{done, total, unit})
		if done == 1 { // the first block is done: stop
			cancel()
		}
	}}
	if _, _, err := Prune(ctx, m, o); err == nil {
		t.Fatal("cancelled pruning succeeded")
	}
	if last := calls[len(calls)-1]; last.done == last.total {
		t.Errorf("calls %v: the cancelled phase ended complete", calls)
	}
}
