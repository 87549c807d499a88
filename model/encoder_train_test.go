package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Every tensor's gradient agrees with float64 central differences of the
// reference loss (sampled entries), for padded batches, with and without
// a pruning mask; pruned entries and the padding embedding rows get
// exactly zero.
func TestEncoderBackwardMatchesFiniteDifferences(t *testing.T) {
	for name, cfg := range tinyEncoders() {
		for _, masked := range []bool{false, true} {
			label := name
			if masked {
				label += "/masked"
			}
			perTensor := 10
			if testing.Short() {
				perTensor = 2
			}
			t.Run(label, func(t *testing.T) { checkEncoderGradients(t, cfg, masked, perTensor) })
		}
	}
}

func checkEncoderGradients(t *testing.T, cfg Config, masked bool, perTensor int) {
	t.Helper()
	m := randomModel(t, cfg, 3)
	rng := rand.New(rand.NewPCG(4, 4))
	if masked {
		randomMask(m, rng, 0.3)
	}
	in, tg := encoderBatch(rng, &cfg, 6, []int{6, 3, 5})
	in.IDs[1] = int32(cfg.PadID) // a pad token that the mask lets through
	if tg.Classes != nil {
		tg.Classes = []int32{2, -100, 1} // the second sequence is ignored
	}
	st, err := NewClassifierState(m, 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	grads := make([]float32, m.Layout.Total)
	if _, err := st.TrainStep(in, tg, grads); err != nil {
		t.Fatal(err)
	}
	for _, ti := range m.Layout.Tensors {
		if row := paddingRow(&cfg, ti); row >= 0 {
			H := cfg.Hidden
			g := ti.Of(grads)[row*H : (row+1)*H]
			if i := slices.IndexFunc(g, func(v float32) bool { return v != 0 }); i >= 0 {
				t.Fatalf("%s: the padding row %d has gradient %g", ti.Name, row, g[i])
			}
		}
	}
	ref := encRef{m, toF64(m.W)}
	checkFiniteDifferences(t, m, grads, ref.w, func() float64 { return ref.loss(in, tg) }, func(ti TensorInfo) []int {
		// The padding rows have no gradient by definition (nn.Embedding's
		// padding_idx), not by calculus.
		row := paddingRow(&cfg, ti)
		return slices.DeleteFunc(sampleEncoderIndices(rng, m, ti, perTensor), func(i int) bool { return row >= 0 && i/cfg.Hidden == row })
	})
}

// paddingRow is the row of an embedding table that nn.Embedding's
// padding_idx keeps from gradients (the word embeddings', and RoBERTa's
// positions'), or -1.
func paddingRow(c *Config, ti TensorInfo) int {
	if ti.Role == RoleEmbed || ti.Role == RolePosEmbed && c.ModelType == "roberta" {
		return c.PadID
	}
	return -1
}

// sampleEncoderIndices picks up to n unmasked entries of a tensor, from
// the rows of the embedding tables that the batch uses when it has rows.
func sampleEncoderIndices(rng *rand.Rand, m *Model, ti TensorInfo, n int) []int {
	idx := sampleIndices(rng, m, ti, 4*n)
	if ti.Role == RoleEmbed || ti.Role == RolePosEmbed {
		H := m.Config.Hidden
		idx = slices.DeleteFunc(idx, func(i int) bool { return i/H > 8 })
	}
	return idx[:min(n, len(idx))]
}

// Forward and backward are bit-identical for 1, 2 and 3 GOMAXPROCS, on
// sizes where the row-parallel paths and the attention workers engage.
func TestEncoderDeterministicAcrossGOMAXPROCS(t *testing.T) {
	for _, mt := range []string{"bert", "roberta", "distilbert"} {
		t.Run(mt, func(t *testing.T) {
			cfg := tinyEncoders()[mt]
			cfg.Hidden, cfg.HeadDim, cfg.MaxPos = 128, 32, 140
			cfg.Layers = []LayerDims{{4, 4, 160}, {2, 2, 96}}
			m := randomModel(t, cfg, 11)
			rng := rand.New(rand.NewPCG(5, 5))
			randomMask(m, rng, 0.5)
			in, tg := encoderBatch(rng, &cfg, 130, []int{130, 77, 3, 129})
			run := func(procs int) (logits, grads []float32, loss float64) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				st, err := NewClassifierState(m, 4, 130)
				if err != nil {
					t.Fatal(err)
				}
				g := make([]float32, m.Layout.Total)
				if loss, err = st.TrainStep(in, tg, g); err != nil {
					t.Fatal(err)
				}
				return slices.Clone(st.logits[:4*len(cfg.Labels)]), g, loss
			}
			l1, g1, loss1 := run(1)
			for _, procs := range []int{2, 3} {
				l2, g2, loss2 := run(procs)
				if loss1 != loss2 || firstBitDiff(l1, l2) >= 0 || firstBitDiff(g1, g2) >= 0 {
					t.Errorf("GOMAXPROCS %d: loss %v vs %v, logits differ at %d, gradients at %d", procs, loss2, loss1, firstBitDiff(l1, l2), firstBitDiff(g1, g2))
				}
			}
		})
	}
}

// Warm passes allocate nothing: inference forward, training forward,
// backward and TrainStep.
func TestEncoderPassesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	cfg := tinyEncoders()["bert"]
	cfg.Hidden, cfg.HeadDim, cfg.Vocab, cfg.MaxPos = 64, 16, 256, 96
	cfg.Layers = []LayerDims{{4, 4, 192}, {4, 4, 192}}
	m := randomModel(t, cfg, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	in, tg := encoderBatch(rng, &cfg, 80, []int{80, 50})
	st, err := NewClassifierState(m, 2, 80)
	if err != nil {
		t.Fatal(err)
	}
	inf, err := NewClassifierInferenceState(m, 2, 80)
	if err != nil {
		t.Fatal(err)
	}
	grads := make([]float32, m.Layout.Total)
	dl := make([]float32, 2*len(cfg.Labels))
	passes := map[string]func() error{
		"inference forward": func() error { _, err := inf.Forward(in); return err },
		"training forward":  func() error { _, err := st.Forward(in); return err },
		"backward": func() error {
			if _, err := st.Forward(in); err != nil {
				return err
			}
			return st.Backward(dl, grads)
		},
		"train step": func() error { _, err := st.TrainStep(in, tg, grads); return err },
	}
	for name, pass := range passes {
		if err := pass(); err != nil {
			t.Fatal(err)
		}
		var perr error
		if a := testing.AllocsPerRun(3, func() {
			if err := pass(); err != nil {
				perr = err
			}
		}); a != 0 || perr != nil {
			t.Errorf("%s: %v allocations per warm pass (error %v)", name, a, perr)
		}
	}
}

// The classifier losses match their definitions on hand-checked values.
func TestClassifierLoss(t *testing.T) {
	logits := []float32{0, math.Ln2, 2, -1}
	dl := make([]float32, 4)
	// Cross-entropy over rows [0, ln2] (class 1) and [2, -1] (ignored).
	loss, err := ClassifierLoss(SingleLabel, logits, 2, ClassifierTargets{Classes: []int32{1, -100}}, dl)
	if err != nil || math.Abs(loss-math.Log(1.5)) > 1e-7 || math.Abs(float64(dl[1])+1.0/3) > 1e-7 || dl[2] != 0 {
		t.Errorf("cross entropy %v %v, dlogits %v", loss, err, dl)
	}
	// BCE of x = 0 against 1 is ln 2; of x = ln2 against 0 is ln 3.
	loss, err = ClassifierLoss(MultiLabel, logits[:2], 2, ClassifierTargets{Values: []float32{1, 0}}, dl[:2])
	if err != nil || math.Abs(loss-(math.Ln2+math.Log(3))/2) > 1e-7 || math.Abs(float64(dl[0])+0.25) > 1e-7 {
		t.Errorf("bce %v %v, dlogits %v", loss, err, dl[:2])
	}
	loss, err = ClassifierLoss(Regression, logits, 1, ClassifierTargets{Values: []float32{1, 0, 2, 1}}, dl)
	if want := (1 + math.Ln2*math.Ln2 + 0 + 4) / 4; err != nil || math.Abs(loss-want) > 1e-7 || dl[3] != -1 {
		t.Errorf("mse %v (want %v) %v, dlogits %v", loss, want, err, dl)
	}
	for name, tc := range map[string]struct {
		p    ProblemType
		t    ClassifierTargets
		want string
	}{
		"class":  {SingleLabel, ClassifierTargets{Classes: []int32{2, 0}}, "sequence 0 has class 2, outside the 2 labels"},
		"count":  {SingleLabel, ClassifierTargets{Classes: []int32{1}}, "1 classes for 2 sequences"},
		"values": {MultiLabel, ClassifierTargets{Values: []float32{1}}, "1 target values"},
		"nan":    {Regression, ClassifierTargets{Values: []float32{0, 0, float32(math.NaN()), 0}}, "sequence 1, label 0: target NaN"},
	} {
		if _, err := ClassifierLoss(tc.p, logits, 2, tc.t, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
