package model

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// tinyEncoders are encoder configs with dims that divide nothing nicely:
// BERT with a layer that lost heads (pruned_heads) and a narrower FFN,
// single-label; RoBERTa (pad 1, offset positions, one token type),
// multi-label; DistilBERT, regression.
func tinyEncoders() map[string]Config {
	return map[string]Config{
		"bert": {
			Arch: BERT, ModelType: "bert", Hidden: 16, Vocab: 23, MaxPos: 12, HeadDim: 4,
			Layers: []LayerDims{{4, 4, 24}, {3, 3, 20}}, NormEps: 1e-12, Act: GELU,
			TypeVocab: 2, PadID: 0, Labels: []string{"a", "b", "c"}, Label2ID: map[string]int{"a": 0, "b": 1, "c": 2}, Problem: SingleLabel,
		},
		"roberta": {
			Arch: BERT, ModelType: "roberta", Hidden: 16, Vocab: 23, MaxPos: 12, HeadDim: 8,
			Layers: []LayerDims{{2, 2, 24}, {2, 2, 24}}, NormEps: 1e-5, Act: GELU,
			TypeVocab: 1, PadID: 1, Labels: []string{"x", "y"}, Problem: MultiLabel,
		},
		"distilbert": {
			Arch: BERT, ModelType: "distilbert", Hidden: 16, Vocab: 23, MaxPos: 12, HeadDim: 4,
			Layers: []LayerDims{{4, 4, 24}, {4, 4, 24}}, NormEps: 1e-12, Act: GELU,
			PadID: 0, Labels: []string{"LABEL_0"}, Problem: Regression,
		},
	}
}

// encoderBatch returns b sequences of T tokens with real lengths lens
// (right padding with the model's pad id), type ids 0 then 1 from the
// middle of each sequence (BERT), and targets for the model's problem.
func encoderBatch(rng *rand.Rand, c *Config, T int, lens []int) (EncoderBatch, ClassifierTargets) {
	b := len(lens)
	in := EncoderBatch{IDs: make([]int32, b*T), Mask: make([]int32, b*T), T: T}
	if c.TypeVocab > 1 {
		in.TypeIDs = make([]int32, b*T)
	}
	for s, n := range lens {
		for t := 0; t < T; t++ {
			i := s*T + t
			if t >= n {
				in.IDs[i] = int32(c.PadID)
				continue
			}
			in.Mask[i] = 1
			for in.IDs[i] = int32(rng.IntN(c.Vocab)); in.IDs[i] == int32(c.PadID); {
				in.IDs[i] = int32(rng.IntN(c.Vocab))
			}
			if in.TypeIDs != nil && t >= n/2 {
				in.TypeIDs[i] = 1
			}
		}
	}
	L := len(c.Labels)
	var tg ClassifierTargets
	switch c.Problem {
	case SingleLabel:
		for range b {
			tg.Classes = append(tg.Classes, int32(rng.IntN(L)))
		}
	case MultiLabel:
		for range b * L {
			tg.Values = append(tg.Values, float32(rng.IntN(2)))
		}
	case Regression:
		for range b * L {
			tg.Values = append(tg.Values, float32(rng.NormFloat64()))
		}
	}
	return in, tg
}

// The float32 classifier's logits agree with the float64 reference, on a
// training State of the batch's size and on a larger inference State.
func TestEncoderForwardMatchesFloat64Reference(t *testing.T) {
	for name, cfg := range tinyEncoders() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 1)
			rng := rand.New(rand.NewPCG(2, 2))
			in, _ := encoderBatch(rng, &cfg, 7, []int{7, 4, 1})
			want := encRef{m, toF64(m.W)}.logits(in)
			exact, err := NewClassifierState(m, 3, 7)
			if err != nil {
				t.Fatal(err)
			}
			larger, err := NewClassifierInferenceState(m, 5, cfg.MaxSeqLen())
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range []*ClassifierState{exact, larger} {
				got, err := st.Forward(in)
				if err != nil {
					t.Fatal(err)
				}
				checkEncoderLogits(t, got, want, 1e-5)
			}
			got, err := m.Classify(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			checkEncoderLogits(t, got, want, 1e-5)
		})
	}
}

func checkEncoderLogits(t *testing.T, got []float32, want [][]float64, tol float64) {
	t.Helper()
	L := len(want[0])
	if len(got) != len(want)*L {
		t.Fatalf("%d logits, want %d × %d", len(got), len(want), L)
	}
	for b, row := range want {
		for j, w := range row {
			if g := float64(got[b*L+j]); math.Abs(g-w) > tol*(1+math.Abs(w)) {
				t.Fatalf("logit [%d, %d]: %.7g, reference %.7g", b, j, g, w)
			}
		}
	}
}

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

// The decoder-only entry points refuse an encoder with ErrNotCausalLM, and
// the classifier's refuse a decoder.
func TestEncoderIsNotACausalLM(t *testing.T) {
	m := randomModel(t, tinyEncoders()["bert"], 1)
	for _, mk := range []func(*Model, int, int) (*State, error){NewState, NewInferenceState} {
		_, err := mk(m, 1, 4)
		if !errors.Is(err, ErrNotCausalLM) || !strings.Contains(err.Error(), "BertForSequenceClassification") {
			t.Errorf("decoder state of an encoder: %v", err)
		}
	}
	dec := randomModel(t, tinyConfigs()["gpt2"], 1)
	if _, err := NewClassifierState(dec, 1, 4); err == nil || !strings.Contains(err.Error(), "not an encoder classifier") {
		t.Errorf("classifier state of a decoder: %v", err)
	}
}

// Bad batches are errors naming the sequence and position; a batch that
// does not fit the State is refused.
func TestEncoderBadInput(t *testing.T) {
	cfg := tinyEncoders()["bert"]
	m := randomModel(t, cfg, 1)
	st, err := NewClassifierInferenceState(m, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	ok := func() EncoderBatch {
		return EncoderBatch{IDs: []int32{5, 6, 7, 0, 5, 6, 0, 0}, TypeIDs: make([]int32, 8), Mask: []int32{1, 1, 1, 0, 1, 1, 0, 0}, T: 4}
	}
	if _, err := st.Forward(ok()); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		edit func(*EncoderBatch)
		want string
	}{
		"token":       {func(b *EncoderBatch) { b.IDs[6] = 23 }, "sequence 1, position 2: token 23 is outside the vocabulary"},
		"type":        {func(b *EncoderBatch) { b.TypeIDs[1] = 2 }, "sequence 0, position 1: token type 2"},
		"mask value":  {func(b *EncoderBatch) { b.Mask[5] = 2 }, "sequence 1, position 1: attention mask 2"},
		"empty":       {func(b *EncoderBatch) { copy(b.Mask[4:], []int32{0, 0, 0, 0}) }, "sequence 1: the attention mask hides every token"},
		"too long":    {func(b *EncoderBatch) { b.T = 8 }, "do not fit the State's 2 × 4"},
		"too many":    {func(b *EncoderBatch) { b.T = 2 }, "do not fit"},
		"short types": {func(b *EncoderBatch) { b.TypeIDs = b.TypeIDs[:3] }, "3 type ids"},
	}
	for name, tc := range cases {
		in := ok()
		tc.edit(&in)
		if _, err := st.Forward(in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	if _, err := NewClassifierState(m, 1, 13); err == nil || !strings.Contains(err.Error(), "exceeds the model's 12 positions") {
		t.Errorf("long state: %v", err)
	}
	rob := randomModel(t, tinyEncoders()["roberta"], 1)
	if _, err := NewClassifierState(rob, 1, 11); err == nil || !strings.Contains(err.Error(), "exceeds the model's 10 positions") {
		t.Errorf("RoBERTa state beyond max_position_embeddings − pad − 1: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Classify(ctx, ok()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled classify: %v", err)
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

// Output is the last block's output: its first token's row, through the
// pooler and the classifier, gives Forward's logits.
func TestClassifierStateOutput(t *testing.T) {
	for name, cfg := range tinyEncoders() {
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range m.W {
			m.W[i] = float32(rng.NormFloat64() * 0.3)
		}
		in, _ := encoderBatch(rng, &cfg, 6, []int{6, 3})
		s, err := NewClassifierInferenceState(m, 2, 6)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := s.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		out, H, L := s.Output(), cfg.Hidden, len(cfg.Labels)
		if len(out) != 2*6*H {
			t.Fatalf("%s: output of %d values, want %d", name, len(out), 2*6*H)
		}
		pool, poolb := m.Param(findRole(t, m, RolePooler)), m.Param(findRole(t, m, RolePoolerBias))
		cls, clsb := m.Param(findRole(t, m, RoleClassifier)), m.Param(findRole(t, m, RoleClassifierBias))
		for b := range 2 {
			x := out[b*6*H : b*6*H+H]
			pooled := make([]float64, H)
			for i := range H {
				v := float64(poolb[i])
				for j := range H {
					v += float64(pool[i*H+j]) * float64(x[j])
				}
				if name == "distilbert" {
					pooled[i] = math.Max(v, 0)
				} else {
					pooled[i] = math.Tanh(v)
				}
			}
			for k := range L {
				v := float64(clsb[k])
				for j := range H {
					v += float64(cls[k*H+j]) * pooled[j]
				}
				if math.Abs(v-float64(logits[b*L+k])) > 1e-4 {
					t.Errorf("%s: sequence %d logit %d from Output %g, Forward %g", name, b, k, v, logits[b*L+k])
				}
			}
		}
	}
}

func findRole(t *testing.T, m *Model, r Role) string {
	t.Helper()
	ti, ok := m.Layout.Find(-1, r)
	if !ok {
		t.Fatalf("no %s tensor", r)
	}
	return ti.Name
}

// The summary counts the embedding tables: tokens, positions and token
// types for BERT, tokens and positions for DistilBERT, and a tied
// decoder's token table once.
func TestSummaryEmbeddings(t *testing.T) {
	enc := tinyEncoders()
	llama := Config{Arch: Llama, ModelType: "llama", Hidden: 8, Vocab: 10, MaxPos: 16, HeadDim: 4, NormEps: 1e-5,
		RopeTheta: 10000, Act: SiLU, TiedEmbeddings: true, Layers: []LayerDims{{2, 2, 8}}}
	for name, c := range map[string]struct {
		cfg  Config
		want int
	}{
		"bert":       {enc["bert"], (23 + 12 + 2) * 16},
		"distilbert": {enc["distilbert"], (23 + 12) * 16},
		"llama":      {llama, 10 * 8},
	} {
		m, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := m.Summarize()
		if s.EmbeddingParameters != c.want || s.EmbeddingShare != float64(c.want)/float64(s.Parameters) {
			t.Errorf("%s: %d embedding parameters (share %g of %d), want %d", name, s.EmbeddingParameters, s.EmbeddingShare, s.Parameters, c.want)
		}
	}
}
