package pruning

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

func TestWindows(t *testing.T) {
	stream := make([]int32, 100)
	for i := range stream {
		stream[i] = int32(i)
	}
	c, err := Windows(stream, WindowOptions{Samples: 3, SeqLen: 10})
	if err != nil {
		t.Fatal(err)
	}
	if c.Samples() != 3 || !slices.Equal(c.window(1, 2), stream[10:20]) {
		t.Errorf("consecutive windows: %v", c.Tokens)
	}
	r1, _ := Windows(stream, WindowOptions{Samples: 20, SeqLen: 10, Random: true, Seed: 5})
	r2, _ := Windows(stream, WindowOptions{Samples: 20, SeqLen: 10, Random: true, Seed: 5})
	r3, _ := Windows(stream, WindowOptions{Samples: 20, SeqLen: 10, Random: true, Seed: 6})
	if !slices.Equal(r1.Tokens, r2.Tokens) || slices.Equal(r1.Tokens, r3.Tokens) {
		t.Error("random windows are not a function of the seed")
	}
	for i := range r1.Samples() {
		w := r1.window(i, i+1)
		for k := 1; k < len(w); k++ {
			if w[k] != w[0]+int32(k) || w[len(w)-1] > 99 {
				t.Fatalf("window %d is not a contiguous span of the stream: %v", i, w)
			}
		}
	}
	if _, err := Windows(stream, WindowOptions{Samples: 11, SeqLen: 10}); err == nil {
		t.Error("11 windows of 10 from 100 tokens accepted")
	}
	if _, err := Windows(stream, WindowOptions{Samples: 0, SeqLen: 10}); err == nil {
		t.Error("zero samples accepted")
	}
	// Fit: as many consecutive windows as the text holds, at most Samples
	// and at least one; no full window is still an error.
	for _, tc := range []struct{ n, samples, want int }{{100, 128, 10}, {100, 4, 4}, {95, 128, 9}, {10, 128, 1}} {
		c, err := Windows(stream[:tc.n], WindowOptions{Samples: tc.samples, SeqLen: 10, Fit: true})
		if err != nil {
			t.Errorf("fit %d samples from %d tokens: %v", tc.samples, tc.n, err)
		} else if c.Samples() != tc.want || !slices.Equal(c.Tokens, stream[:tc.want*10]) {
			t.Errorf("fit %d samples from %d tokens: %d windows %v; want the first %d", tc.samples, tc.n, c.Samples(), c.Tokens, tc.want)
		}
	}
	if _, err := Windows(stream[:9], WindowOptions{Samples: 128, SeqLen: 10, Fit: true}); err == nil || !strings.Contains(err.Error(), "has 9") {
		t.Errorf("fit with no full window: %v", err)
	}
	// Random windows always fit; Fit changes nothing there.
	r4, err := Windows(stream, WindowOptions{Samples: 20, SeqLen: 10, Random: true, Seed: 5, Fit: true})
	if err != nil || !slices.Equal(r4.Tokens, r1.Tokens) {
		t.Errorf("random windows with fit differ: %v", err)
	}
}

func TestSelectTargets(t *testing.T) {
	m := tinyModel(t, model.Llama, 1)
	all, err := SelectTargets(m.Layout, TargetSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 14 {
		t.Errorf("default targets: %d tensors, want 7 per block × 2", len(all))
	}
	for _, ti := range all {
		if !model.Prunable(ti) {
			t.Errorf("default target %s is not a block linear weight", ti.Name)
		}
	}
	some, err := SelectTargets(m.Layout, TargetSpec{Include: []string{`mlp`}, Ignore: []string{`layers\.0\.`, `down`}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range some {
		names = append(names, ti.Name)
	}
	want := []string{"model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight"}
	if !slices.Equal(names, want) {
		t.Errorf("targets %v, want %v", names, want)
	}
	emb, err := SelectTargets(m.Layout, TargetSpec{Include: []string{`embed_tokens`}})
	if err != nil || len(emb) != 1 {
		t.Errorf("explicit embedding target: %v %v", emb, err)
	}
	if _, err := SelectTargets(m.Layout, TargetSpec{Include: []string{`(`}}); err == nil {
		t.Error("a bad regexp was accepted")
	}
	if _, err := SelectTargets(m.Layout, TargetSpec{Include: []string{`nothing`}}); err == nil {
		t.Error("an empty selection was accepted")
	}
}

// The dry run predicts exactly what Prune removes.
func TestDryRunMatchesPrune(t *testing.T) {
	m := tinyModel(t, model.GPT2, 2)
	cal := tinyCalib(3, 8, 32, 1)
	for _, o := range []Options{
		{Method: Magnitude, Sparsity: 0.45},
		{Method: Magnitude, Sparsity: 0.45, Scope: ScopeRow},
		{Method: Magnitude, Sparsity: 0.45, Scope: ScopeGlobal},
		{Method: Wanda, Pattern: Pattern{Kind: NM, N: 4, M: 8}},
		{Method: SparseGPT, Sparsity: 0.45, SparseGPT: SparseGPTOptions{BlockSize: 16}},
		{Method: Random, Sparsity: 0.2, Targets: TargetSpec{Include: []string{`c_attn\.(weight|bias)`}}},
	} {
		dry, err := DryRun(m, o)
		if err != nil {
			t.Fatal(err)
		}
		o.Calib = cal
		_, rep := prune(t, m, o)
		if dry.NonZeroAfter != rep.NonZeroAfter || len(dry.Tensors) != len(rep.Tensors) {
			t.Errorf("%+v: dry run %d non-zeros, prune %d", o, dry.NonZeroAfter, rep.NonZeroAfter)
		}
		for i, d := range dry.Tensors {
			if d.NonZeroAfter >= 0 && d.NonZeroAfter != rep.Tensors[i].NonZeroAfter {
				t.Errorf("%+v %s: dry run %d, prune %d", o, d.Name, d.NonZeroAfter, rep.Tensors[i].NonZeroAfter)
			}
		}
	}
	owl, err := DryRun(m, Options{Method: Wanda, Sparsity: 0.5, Scope: ScopeOWL})
	if err != nil || owl.NonZeroAfter != -1 {
		t.Errorf("OWL dry run: %d, %v; want -1 (depends on scores)", owl.NonZeroAfter, err)
	}
}

func TestVerifyMasks(t *testing.T) {
	m := tinyModel(t, model.Llama, 3)
	if err := VerifyMasks(m, nil); err != nil {
		t.Errorf("dense model: %v", err)
	}
	out, _ := prune(t, m, Options{Method: Magnitude, Sparsity: 0.5})
	if err := VerifyMasks(out, nil); err != nil {
		t.Fatal(err)
	}
	tt, _ := out.Layout.Lookup("model.layers.1.mlp.up_proj.weight")
	j := slices.Index(tensorMask(out, tt), 0)
	tt.Of(out.W)[j] = 0.5
	err := VerifyMasks(out, nil)
	if err == nil || !strings.Contains(err.Error(), tt.Name) || !strings.Contains(err.Error(), "1 pruned weight in 1 tensor is not zero") {
		t.Errorf("a revived weight: %v", err)
	}
	// Against an external mask: the dense model breaks the pruned mask.
	if err := VerifyMasks(m, out.Mask); err == nil {
		t.Error("the dense model passed the pruned model's mask")
	}
}

// Score once, prune at several sparsities: the same as Prune each time,
// and neither touches the input model.
func TestPruneScoredAndInputUntouched(t *testing.T) {
	m := tinyModel(t, model.Llama, 4)
	orig := slices.Clone(m.W)
	cal := tinyCalib(3, 8, 32, 2)
	for _, method := range []Method{Magnitude, Wanda, Taylor, Random} {
		sc, err := Score(context.Background(), m, ScoreOptions{Method: method, Calib: cal, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []float64{0.3, 0.6} {
			o := Options{Method: method, Sparsity: s, Calib: cal, Seed: 1, CalibMode: OnePass}
			a, _, err := PruneScored(context.Background(), m, sc, Options{Sparsity: s, CalibMode: OnePass})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := prune(t, m, o)
			if !a.Mask.Equal(b.Mask) || !slices.Equal(a.W, b.W) {
				t.Errorf("%s at %g: PruneScored differs from Prune", method, s)
			}
		}
	}
	if !slices.Equal(m.W, orig) || m.Mask != nil {
		t.Fatal("the input model was modified")
	}
	sc, _ := Score(context.Background(), m, ScoreOptions{Method: Magnitude})
	if _, _, err := PruneScored(context.Background(), m, sc, Options{Method: Wanda, Sparsity: 0.5}); err == nil {
		t.Error("wanda options with magnitude scores accepted")
	}
	other := tinyModel(t, model.GPT2, 4)
	if _, _, err := PruneScored(context.Background(), other, sc, Options{Sparsity: 0.5}); err == nil {
		t.Error("scores of another architecture accepted")
	}
	if _, err := Score(context.Background(), m, ScoreOptions{Method: SparseGPT, Calib: cal}); err == nil {
		t.Error("a sparsegpt score step was accepted")
	}
}

// Bad options are refused with errors that say what is wrong.
func TestOptionErrors(t *testing.T) {
	m := tinyModel(t, model.Llama, 5)
	cal := tinyCalib(2, 8, 32, 3)
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Sparsity: 0.5}, "no pruning method"},
		{Options{Method: "obs", Sparsity: 0.5}, "unknown pruning method"},
		{Options{Method: Magnitude, Sparsity: 1.5}, "sparsity must be in [0, 1)"},
		{Options{Method: Magnitude, Sparsity: 1}, "sparsity must be in [0, 1), got 1"},
		{Options{Method: Magnitude, Sparsity: 1, Pattern: Pattern{Kind: Heads}}, "sparsity must be in [0, 1), got 1"},
		{Options{Method: Magnitude, Sparsity: math.NaN()}, "sparsity must be in [0, 1)"},
		{Options{Method: Magnitude, Sparsity: 0.7, Pattern: Pattern{Kind: NM, N: 2, M: 4}}, "fixes sparsity at 0.5"},
		{Options{Method: Magnitude, Pattern: Pattern{Kind: NM, N: 2, M: 4}, Scope: ScopeGlobal}, "scope global does not apply"},
		{Options{Method: Magnitude, Sparsity: 0.5, Scope: "block"}, "unknown scope"},
		{Options{Method: Wanda, Sparsity: 0.5, Scope: ScopeGlobal, Calib: cal}, "use calibration mode one-pass"},
		{Options{Method: Wanda, Sparsity: 0.5}, "needs calibration data"},
		{Options{Method: SparseGPT, Sparsity: 0.5, Scope: ScopeRow, Calib: cal}, "scope row does not apply"},
		{Options{Method: Random, Sparsity: 0.5, Scope: ScopeOWL}, "random scores have none"},
		{Options{Method: Wanda, Sparsity: 0.5, Calib: &Calibration{Tokens: []int32{1, 2, 99}, SeqLen: 3}}, "outside the vocabulary"},
		{Options{Method: Wanda, Sparsity: 0.5, Calib: &Calibration{Tokens: make([]int32, 40), SeqLen: 20}}, "exceed the model's 16 positions"},
		{Options{Method: Wanda, Sparsity: 0.5, Calib: cal, Targets: TargetSpec{Include: []string{`embed`}}}, "outside the transformer blocks"},
		{Options{Method: SparseGPT, Pattern: Pattern{Kind: NM, N: 2, M: 8}, Calib: cal, SparseGPT: SparseGPTOptions{BlockSize: 12}}, "multiple of 8"},
		{Options{Method: Magnitude, Sparsity: 0.5, CalibMode: "twice"}, "unknown calibration mode"},
	}
	for _, c := range cases {
		_, _, err := Prune(context.Background(), m, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.o, err, c.want)
		}
	}
	for _, s := range []string{"2:2", "0:4", "3", "a:b", "4:2", "1:128"} {
		if _, err := ParsePattern(s); err == nil {
			t.Errorf("pattern %q accepted", s)
		}
	}
	if p, err := ParsePattern("4:8"); err != nil || p != (Pattern{Kind: NM, N: 4, M: 8}) {
		t.Errorf("4:8 parsed as %+v, %v", p, err)
	}
}

func TestPruneCancelled(t *testing.T) {
	m := tinyModel(t, model.Llama, 6)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, method := range []Method{Wanda, SparseGPT, Taylor} {
		_, _, err := Prune(ctx, m, Options{Method: method, Sparsity: 0.5, Calib: tinyCalib(2, 8, 32, 1)})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", method, err)
		}
	}
}

// Stored scores come back through NewScores and prune as the originals do.
func TestNewScoresRoundTrip(t *testing.T) {
	m := tinyModel(t, model.GPT2, 7)
	sc, err := Score(context.Background(), m, ScoreOptions{Method: Magnitude, Targets: TargetSpec{Ignore: []string{`c_fc`}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range sc.Targets {
		names = append([]string{ti.Name}, names...) // any order
	}
	back, err := NewScores(m.Layout, Magnitude, names, slices.Clone(sc.Values))
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := PruneScored(context.Background(), m, sc, Options{Sparsity: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := PruneScored(context.Background(), m, back, Options{Sparsity: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Mask.Equal(b.Mask) {
		t.Error("restored scores prune differently")
	}
	bad := slices.Clone(sc.Values)
	bad[sc.Targets[0].Offset] = float32(math.NaN())
	for _, c := range []struct {
		method Method
		names  []string
		values []float32
	}{
		{SparseGPT, names, sc.Values},
		{Magnitude, []string{"nope"}, sc.Values},
		{Magnitude, names, sc.Values[1:]},
		{Magnitude, []string{names[0], names[0]}, sc.Values},
		{Magnitude, names, bad},
	} {
		if _, err := NewScores(m.Layout, c.method, c.names, c.values); err == nil {
			t.Errorf("NewScores(%s, %d names, %d values) accepted", c.method, len(c.names), len(c.values))
		}
	}
}

// The CLI and the stages share one set of calibration defaults: the papers'
// 128 windows of at most 2048 tokens, the count a maximum when defaulted.
func TestWindowDefaults(t *testing.T) {
	o := WindowOptions{}.WithDefaults(128)
	if o.Samples != 128 || o.SeqLen != 128 || !o.Fit || o.Random {
		t.Errorf("defaults for a 128-position model: %+v", o)
	}
	if o := (WindowOptions{}).WithDefaults(32768); o.SeqLen != 2048 {
		t.Errorf("seq_len for a long-context model = %d, want 2048", o.SeqLen)
	}
	given := WindowOptions{Samples: 7, SeqLen: 16, Random: true, Seed: 3}
	if o := given.WithDefaults(128); o != given {
		t.Errorf("values the user gave changed: %+v → %+v", given, o)
	}
	// A defaulted count fits a short text; a given one that doesn't fit is an error.
	stream := make([]int32, 3*16+5)
	c, err := Windows(stream, WindowOptions{SeqLen: 16}.WithDefaults(128))
	if err != nil {
		t.Fatalf("defaulted windows on 53 tokens: %v", err)
	}
	if c.Samples() != 3 {
		t.Errorf("defaulted windows on 53 tokens: %d, want 3", c.Samples())
	}
	if _, err := Windows(stream, WindowOptions{Samples: 4, SeqLen: 16}.WithDefaults(128)); err == nil {
		t.Error("4 given windows of 16 tokens from 53 tokens: no error")
	}
}
