package pruning

import (
	"context"
	"math"
	"slices"
	"testing"

	"lopper/model"
)

// calibLoss is the mean next-token cross-entropy over the calibration
// windows, in float64: the L of the Taylor score, computed independently
// of calibrationGradient (one window at a time).
func calibLoss(t *testing.T, m *model.Model, cal *Calibration) float64 {
	t.Helper()
	T := cal.SeqLen
	st, err := model.NewInferenceState(m, 1, T)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range cal.Samples() {
		toks := cal.window(i, i+1)
		logits, err := st.Forward(toks)
		if err != nil {
			t.Fatal(err)
		}
		tg := append(slices.Clone(toks[1:]), -1)
		l, err := model.CrossEntropy(logits, tg, m.Config.Vocab, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum += l
	}
	return sum / float64(cal.Samples())
}

// Taylor scores are |w·∂L/∂w| with ∂L/∂w from central finite differences
// of the calibration loss, for the weights with the largest scores, with
// batches of uneven size (5 windows in batches of 2).
func TestTaylorMatchesFiniteDifferences(t *testing.T) {
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		m := tinyModel(t, arch, 11)
		cal := tinyCalib(5, 12, 32, 3)
		cal.Batch = 2
		sc, err := Score(context.Background(), m, ScoreOptions{Method: Taylor, Calib: cal})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, tt := range sc.Targets {
			s := tt.Of(sc.Values)
			// The two largest scores of every target.
			idx := make([]int, len(s))
			for i := range idx {
				idx[i] = i
			}
			slices.SortFunc(idx, func(a, b int) int { return -cmpF32(s[a], s[b]) })
			for _, j := range idx[:2] {
				w := tt.Of(m.W)
				orig := w[j]
				h := float32(1e-2) * max(1, float32(math.Abs(float64(orig))))
				w[j] = orig + h
				lp := calibLoss(t, m, cal)
				w[j] = orig - h
				lm := calibLoss(t, m, cal)
				w[j] = orig
				g := (lp - lm) / (2 * float64(h))
				want := math.Abs(float64(orig) * g)
				if !relClose(float64(s[j]), want, 0.03) {
					t.Errorf("%s %s[%d]: score %.6g, |w·g| by finite differences %.6g", arch, tt.Name, j, s[j], want)
				}
				checked++
			}
		}
		if checked < 14 {
			t.Fatalf("checked only %d weights", checked)
		}
	}
}

func cmpF32(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Wanda scores are |W_ij|·‖X_j‖ with ‖X_j‖ over the inputs the layer
// sees; checked for down_proj/c_proj against its input computed by an
// independent route: a hook on model.State.Forward.
func TestWandaScoresAgainstForwardHook(t *testing.T) {
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		m := tinyModel(t, arch, 12)
		cal := tinyCalib(3, 10, 32, 4)
		sc, err := Score(context.Background(), m, ScoreOptions{Method: Wanda, Calib: cal})
		if err != nil {
			t.Fatal(err)
		}
		name := "model.layers.1.mlp.down_proj.weight"
		if arch == model.GPT2 {
			name = "transformer.h.1.mlp.c_proj.weight"
		}
		tt, _ := m.Layout.Lookup(name)
		rows, cols := rowsCols(tt)
		norms := make([]float64, cols)
		st, err := model.NewInferenceState(m, 1, cal.SeqLen)
		if err != nil {
			t.Fatal(err)
		}
		st.Hook = func(ws []string, x []float32, n, c int) {
			if slices.Contains(ws, name) {
				for r := range n {
					for j := range c {
						norms[j] += float64(x[r*c+j]) * float64(x[r*c+j])
					}
				}
			}
		}
		for i := range cal.Samples() {
			if _, err := st.Forward(cal.window(i, i+1)); err != nil {
				t.Fatal(err)
			}
		}
		for r := range rows {
			for j := range cols {
				want := math.Abs(float64(tt.Of(m.W)[r*cols+j])) * math.Sqrt(norms[j])
				if !relClose(float64(tt.Of(sc.Values)[r*cols+j]), want, 1e-5) {
					t.Fatalf("%s [%d,%d]: score %g, want %g", name, r, j, tt.Of(sc.Values)[r*cols+j], want)
				}
			}
		}
	}
}

// Sequential calibration is what it claims: pruning block 0 and then
// block 1 (each calibrated in one pass on the model as it then is) gives
// the same model as one sequential run, for Wanda and SparseGPT.
func TestSequentialEqualsBlockByBlockOnePass(t *testing.T) {
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		m := tinyModel(t, arch, 13)
		cal := tinyCalib(4, 12, 32, 5)
		block := func(l string) TargetSpec {
			if arch == model.GPT2 {
				return TargetSpec{Include: []string{`^transformer\.h\.` + l + `\..*weight$`}, Ignore: []string{`ln_`}}
			}
			return TargetSpec{Include: []string{`^model\.layers\.` + l + `\..*_proj\.weight$`}}
		}
		for _, method := range []Method{Wanda, SparseGPT} {
			seq, _ := prune(t, m, Options{Method: method, Sparsity: 0.5, Calib: cal})
			o := Options{Method: method, Sparsity: 0.5, Calib: cal, CalibMode: OnePass, Targets: block("0")}
			a, _ := prune(t, m, o)
			o.Targets = block("1")
			b, _ := prune(t, a, o)
			if !seq.Mask.Equal(b.Mask) || !slices.Equal(seq.W, b.W) {
				t.Errorf("%s %s: sequential differs from block-by-block one-pass", arch, method)
			}
			one, _ := prune(t, m, Options{Method: method, Sparsity: 0.5, Calib: cal, CalibMode: OnePass})
			if one.Mask.Equal(seq.Mask) && method == Wanda {
				t.Errorf("%s %s: one-pass and sequential agree; block 1 should see block 0 pruned", arch, method)
			}
		}
	}
}
