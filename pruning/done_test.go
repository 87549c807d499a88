package pruning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"lopper/model"
)

// Options.Done gets every target exactly once, final: the weights it is
// handed are those Prune ends with, and pruning never reads them again
// (the test zeroes them as soon as they are handed over, as an evicted
// lazy tensor reads, and the mask, the report and the other weights are
// still Prune's). Streaming says how the targets come: one call per tensor,
// per block, or one at the end.
func TestDoneHandsOverFinalTargets(t *testing.T) {
	cal := tinyCalib(3, 8, 32, 5)
	nm := Pattern{Kind: NM, N: 2, M: 4}
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		for _, c := range []struct {
			o    Options
			mode string
		}{
			{Options{Method: Magnitude, Sparsity: 0.45}, StreamTensors},
			{Options{Method: Magnitude, Sparsity: 0.45, Scope: ScopeRow}, StreamTensors},
			{Options{Method: Magnitude, Pattern: nm}, StreamTensors},
			{Options{Method: Random, Sparsity: 0.3, Seed: 3}, StreamTensors},
			{Options{Method: Wanda, Sparsity: 0.5, CalibMode: OnePass}, StreamTensors},
			{Options{Method: Wanda, Sparsity: 0.5, CalibMode: OnePass, Scope: ScopeLayer}, StreamTensors},
			{Options{Method: Wanda, Sparsity: 0.5}, StreamBlocks},
			{Options{Method: Wanda, Pattern: nm}, StreamBlocks},
			{Options{Method: Wanda, Sparsity: 0.5, Scope: ScopeOWL}, StreamBlocks},
			{Options{Method: SparseGPT, Sparsity: 0.5, SparseGPT: SparseGPTOptions{BlockSize: 8}}, StreamBlocks},
			{Options{Method: SparseGPT, Pattern: nm, SparseGPT: SparseGPTOptions{BlockSize: 8}}, StreamBlocks},
			{Options{Method: SparseGPT, Sparsity: 0.5, CalibMode: OnePass, SparseGPT: SparseGPTOptions{BlockSize: 8}}, StreamBlocks},
			{Options{Method: Magnitude, Sparsity: 0.45, Scope: ScopeGlobal}, StreamAtEnd},
			{Options{Method: Magnitude, Sparsity: 0.45, Scope: ScopeOWL}, StreamAtEnd},
			{Options{Method: Wanda, Sparsity: 0.5, CalibMode: OnePass, Scope: ScopeGlobal}, StreamAtEnd},
			{Options{Method: Taylor, Sparsity: 0.4}, StreamAtEnd},
		} {
			o := c.o
			o.Calib = cal
			for _, sparse := range []bool{false, true} {
				name := fmt.Sprintf("%s %s %s %s sparse=%v", arch, o.Method, o.Pattern, o.Scope, sparse)
				m := tinyModel(t, arch, 11)
				if sparse { // already pruned: its zeros count
					var err error
					if m, _, err = Prune(context.Background(), m, Options{Method: Magnitude, Sparsity: 0.2}); err != nil {
						t.Fatal(err)
					}
				}
				if got := Streaming(m, o); got != c.mode {
					t.Errorf("%s: Streaming %q, want %q", name, got, c.mode)
				}
				want, wantRep, err := Prune(context.Background(), m, o)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				in := m.Clone()
				handed := map[string][]float32{}
				var calls [][]model.TensorInfo
				od := o
				od.Done = func(w *model.Model, ts []model.TensorInfo) error {
					if w != in {
						return errors.New("handed another model than the one pruned in place")
					}
					for _, x := range ts {
						if handed[x.Name] != nil {
							return fmt.Errorf("tensor %s handed twice", x.Name)
						}
						handed[x.Name] = slices.Clone(x.Of(w.W))
						clear(x.Of(w.W)) // evicted: reads as zeros from now on
					}
					calls = append(calls, ts)
					return nil
				}
				got, gotRep, err := PruneInPlace(context.Background(), in, od)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				a, _ := json.Marshal(wantRep)
				b, _ := json.Marshal(gotRep)
				if string(a) != string(b) {
					t.Errorf("%s: reports differ:\n%s\n%s", name, a, b)
				}
				if !got.Mask.Equal(want.Mask) {
					t.Errorf("%s: other mask", name)
				}
				for _, x := range want.Layout.Tensors {
					w, ok := handed[x.Name]
					if !ok {
						w = x.Of(got.W)
					}
					if !slices.Equal(w, x.Of(want.W)) {
						t.Errorf("%s: %s (handed %v) differs from Prune's", name, x.Name, ok)
					}
				}
				if len(handed) != len(wantRep.Tensors) {
					t.Errorf("%s: %d tensors handed, %d targets", name, len(handed), len(wantRep.Tensors))
				}
				wantCalls := map[string]int{StreamTensors: len(wantRep.Tensors), StreamBlocks: m.Config.NumLayers(), StreamAtEnd: 1}[c.mode]
				if len(calls) != wantCalls {
					t.Errorf("%s (%s): %d calls to Done, want %d", name, c.mode, len(calls), wantCalls)
				}
			}
		}
	}
}

// An error from Done stops pruning and is returned; structured patterns
// never call Done, and say so ("").
func TestDoneErrorStops(t *testing.T) {
	stop := errors.New("disk full")
	for _, o := range []Options{
		{Method: Magnitude, Sparsity: 0.5},
		{Method: Wanda, Sparsity: 0.5},
		{Method: Magnitude, Sparsity: 0.5, Scope: ScopeGlobal},
	} {
		o.Calib = tinyCalib(2, 8, 32, 5)
		calls := 0
		o.Done = func(*model.Model, []model.TensorInfo) error { calls++; return stop }
		if _, _, err := PruneInPlace(context.Background(), tinyModel(t, model.Llama, 3), o); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("%s %s: %v after %d calls, want %v after 1", o.Method, o.Scope, err, calls, stop)
		}
	}
	o := Options{Method: Method(ByL2), Pattern: Pattern{Kind: Neurons}, Sparsity: 0.25,
		Done: func(*model.Model, []model.TensorInfo) error { return stop }}
	m := tinyModel(t, model.Llama, 3)
	if got := Streaming(m, o); got != "" {
		t.Errorf("structured: Streaming %q", got)
	}
	if _, _, err := PruneInPlace(context.Background(), m, o); err != nil {
		t.Errorf("structured: %v", err)
	}
}
