package pruning

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// The encoder quickstart's tiny BERT classifier (2 layers, 4 heads,
// intermediate 64), trained by lopper: tests run in the package directory.
func quickBERT(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.Load(filepath.Join("..", "quickstart", "bert", "model"), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// exampleCalib is n encoded examples [CLS] words [SEP] of 2 to 20 random
// words of the model's vocabulary (above the special tokens), with random
// classes: each right-padded to the longest.
func exampleCalib(t testing.TB, m *model.Model, n int, seed uint64) *Calibration {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	ids, types := make([][]int32, n), make([][]int32, n)
	var labels model.ClassifierTargets
	for i := range ids {
		e := []int32{2}
		for range 2 + rng.IntN(19) {
			e = append(e, int32(5+rng.IntN(m.Config.Vocab-5)))
		}
		ids[i], types[i] = append(e, 3), make([]int32, len(e)+1)
		labels.Classes = append(labels.Classes, int32(rng.IntN(m.Config.NumLabels())))
	}
	c, err := ExampleCalibration(ids, types, int32(m.Config.PadID), labels)
	if err != nil {
		t.Fatal(err)
	}
	c.Batch = 5
	return c
}

// probeLogits are m's logits on a fixed padded batch.
func probeLogits(t testing.TB, m *model.Model) []float32 {
	t.Helper()
	c := exampleCalib(t, m, 6, 99)
	logits, err := m.Classify(context.Background(), model.EncoderBatch{IDs: c.Tokens, TypeIDs: c.TypeIDs, Mask: c.Mask, T: c.SeqLen})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logits %v are not finite", logits)
		}
	}
	return logits
}

// Calibration statistics of an encoder come from the examples' tokens
// only: the rows counted are the tokens, the sums are the same bits
// whether examples run one by one (no padding) or padded in batches, and
// what the padding holds does not matter.
func TestEncoderCalibrationExcludesPadding(t *testing.T) {
	m := quickBERT(t)
	c := exampleCalib(t, m, 13, 1)
	tokens := 0
	for _, v := range c.Mask {
		tokens += int(v)
	}
	targets := []model.TensorInfo{}
	for _, ti := range m.Layout.Tensors {
		if model.Prunable(ti) {
			targets = append(targets, ti)
		}
	}
	stats := func(c *Calibration) map[string]*InputStats {
		s, err := encoderOnePass(context.Background(), m, c, statNorms|statHessian, targets, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*InputStats{}
		for _, ti := range targets {
			if out[ti.Name], err = s.of(ti); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	ref := *c
	ref.Batch = 1
	one := stats(&ref)
	other := *c
	other.Tokens = slices.Clone(c.Tokens)
	for i, v := range c.Mask {
		if v == 0 {
			other.Tokens[i] = 7 // a word, not [PAD]: masked all the same
		}
	}
	for name, s := range map[string]map[string]*InputStats{"batches of 5": stats(c), "other padding": stats(&other)} {
		for _, ti := range targets {
			a, b := one[ti.Name], s[ti.Name]
			if a.Rows != tokens || b.Rows != tokens {
				t.Fatalf("%s: %s saw %d and %d rows, the examples have %d tokens", name, ti.Name, a.Rows, b.Rows, tokens)
			}
			if !slices.Equal(a.NormSq, b.NormSq) {
				t.Fatalf("%s: %s: input norms differ from one example at a time", name, ti.Name)
			}
			for i, h := range a.Hessian {
				if math.Abs(h-b.Hessian[i]) > 1e-5*math.Max(1, math.Abs(h)) {
					t.Fatalf("%s: %s: Hessian entry %d is %g, one at a time %g", name, ti.Name, i, b.Hessian[i], h)
				}
			}
		}
	}
}

// Every method and pattern prunes the tiny BERT: unstructured and N:M
// leave a mask that holds at the requested sparsity, structured patterns
// a smaller model; the result classifies (finite logits), and saved and
// loaded again it gives the same logits, heads written as pruned_heads.
func TestEncoderPruneEveryMethodAndPattern(t *testing.T) {
	m := quickBERT(t)
	cal := exampleCalib(t, m, 24, 2)
	ctx := context.Background()
	type tc struct {
		method  Method
		pattern string
		scope   Scope
		mode    CalibMode
	}
	var cases []tc
	for _, method := range []Method{Magnitude, Random, Wanda, SparseGPT, Taylor} {
		cases = append(cases, tc{method: method, pattern: "unstructured"}, tc{method: method, pattern: "2:4"})
	}
	cases = append(cases, tc{method: Wanda, pattern: "unstructured", mode: OnePass}, tc{method: SparseGPT, pattern: "unstructured", mode: OnePass},
		tc{method: Wanda, pattern: "unstructured", scope: ScopeOWL}, tc{method: Magnitude, pattern: "unstructured", scope: ScopeGlobal})
	for _, method := range []Method{MethodL1, MethodL2, MethodActivation, Wanda, Taylor, Random} {
		cases = append(cases, tc{method: method, pattern: "neurons"}, tc{method: method, pattern: "heads"})
	}
	for _, method := range []Method{MethodBlockInfluence, Taylor, Random} {
		cases = append(cases, tc{method: method, pattern: "layers"})
	}
	for _, c := range cases {
		name := string(c.method) + "/" + c.pattern + "/" + string(c.scope) + string(c.mode)
		t.Run(name, func(t *testing.T) {
			pat, err := ParsePattern(c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Method: c.method, Pattern: pat, Sparsity: 0.5, Scope: c.scope, CalibMode: c.mode, Seed: 3}
			if pat.Kind == NM {
				o.Sparsity = 0
			}
			if c.method.NeedsCalibration() {
				o.Calib = cal
			}
			out, rep, err := Prune(ctx, m, o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.EmbeddingParams != 113*32+64*32+2*32 || rep.ModelParams != m.NumParams() {
				t.Errorf("report: %d embedding parameters of %d", rep.EmbeddingParams, rep.ModelParams)
			}
			probeLogits(t, out)
			if !pat.structured() {
				if err := VerifyMasks(out, out.Mask); err != nil {
					t.Fatal(err)
				}
				if sp := rep.SparsityAfter(); math.Abs(sp-0.5) > 0.02 {
					t.Errorf("sparsity %g, want 0.5", sp)
				}
				if pat.Kind == NM {
					checkNMMask(t, out)
				}
				return
			}
			sr := rep.Structured
			switch pat.Kind {
			case Neurons:
				if out.Config.Layers[0].Intermediate != 32 || out.Config.Layers[1].Intermediate != 32 {
					t.Errorf("dims %v, want 32 neurons per layer", out.Config.Layers)
				}
			case Heads:
				if out.Config.Layers[0].Heads != 2 || out.Config.Layers[1].Heads != 2 {
					t.Errorf("dims %v, want 2 heads per layer", out.Config.Layers)
				}
			case Layers:
				if out.Config.NumLayers() != 1 {
					t.Errorf("%d layers, want 1", out.Config.NumLayers())
				}
			}
			if !sr.HFCompatible {
				t.Errorf("not HF-compatible: %s", sr.HFReason)
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := out.Save(dir, model.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			back, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(probeLogits(t, back), probeLogits(t, out)) || !slices.Equal(back.Config.Layers, out.Config.Layers) {
				t.Error("the saved model gives other logits or dims")
			}
			cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if pat.Kind == Heads && !strings.Contains(string(cfg), `"pruned_heads"`) || strings.Contains(string(cfg), "lopper_dims") {
				t.Errorf("config.json: %s", cfg)
			}
		})
	}
}

// checkNMMask checks 2:4 on every block linear weight: at most 2 of each
// 4 consecutive inputs of a row survive.
func checkNMMask(t *testing.T, m *model.Model) {
	t.Helper()
	for _, ti := range m.Layout.Tensors {
		if !model.Prunable(ti) {
			continue
		}
		k := tensorMask(m, ti)
		for g := 0; g < len(k); g += 4 {
			kept := 0
			for _, v := range k[g : g+4] {
				kept += int(v)
			}
			if kept > 2 {
				t.Fatalf("%s: group at %d keeps %d of 4", ti.Name, g, kept)
			}
		}
	}
}

// targets may name the embedding matrix (methods scored from weights
// alone); calibrated methods refuse it by name, as outside the blocks.
func TestEncoderPruneEmbeddings(t *testing.T) {
	m := quickBERT(t)
	o := Options{Method: Magnitude, Sparsity: 0.5, Targets: TargetSpec{Include: []string{`word_embeddings`}}}
	out, rep, err := Prune(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tensors) != 1 || rep.Tensors[0].Name != "bert.embeddings.word_embeddings.weight" || math.Abs(rep.SparsityAfter()-0.5) > 0.01 {
		t.Errorf("report %+v", rep.Tensors)
	}
	probeLogits(t, out)
	o.Method, o.Calib = Wanda, exampleCalib(t, m, 4, 1)
	if _, _, err := Prune(context.Background(), m, o); err == nil || !strings.Contains(err.Error(), "word_embeddings.weight") {
		t.Errorf("wanda on the embeddings: %v", err)
	}
}

// A calibration of the wrong kind, or Taylor without labels, is refused
// saying what the model needs.
func TestEncoderCalibrationRefusals(t *testing.T) {
	ctx := context.Background()
	m := quickBERT(t)
	windows := tinyCalib(4, 8, m.Config.Vocab, 1)
	if _, _, err := Prune(ctx, m, Options{Method: Wanda, Sparsity: 0.5, Calib: windows}); err == nil || !strings.Contains(err.Error(), "labelled task") {
		t.Errorf("encoder with token windows: %v", err)
	}
	dec := tinyModel(t, model.Llama, 1)
	short, err := ExampleCalibration([][]int32{{2, 5, 3}, {2, 6, 7, 3}}, nil, 0, model.ClassifierTargets{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Prune(ctx, dec, Options{Method: Wanda, Sparsity: 0.5, Calib: short}); err == nil || !strings.Contains(err.Error(), "token windows") {
		t.Errorf("decoder with examples: %v", err)
	}
	unlabelled := exampleCalib(t, m, 4, 1)
	unlabelled.Labels = model.ClassifierTargets{}
	if _, _, err := Prune(ctx, m, Options{Method: Taylor, Sparsity: 0.5, Calib: unlabelled}); err == nil || !strings.Contains(err.Error(), "needs the labels") {
		t.Errorf("taylor without labels: %v", err)
	}
	if _, err := ExampleCalibration([][]int32{{2, 3}, {}}, nil, 0, model.ClassifierTargets{}); err == nil {
		t.Error("an empty example accepted")
	}
}

// Block by block, block 0 is calibrated on the dense embeddings either way
// (its Wanda mask is one-pass's), while block 1 sees block 0 pruned;
// Block Influence counts the same tokens in the same order for any batch.
func TestEncoderSequentialAndBlockInfluence(t *testing.T) {
	ctx := context.Background()
	m := quickBERT(t)
	cal := exampleCalib(t, m, 16, 5)
	seq, _, err := Prune(ctx, m, Options{Method: Wanda, Sparsity: 0.6, Calib: cal})
	if err != nil {
		t.Fatal(err)
	}
	one, _, err := Prune(ctx, m, Options{Method: Wanda, Sparsity: 0.6, Calib: cal, CalibMode: OnePass})
	if err != nil {
		t.Fatal(err)
	}
	same := map[int]bool{0: true, 1: true}
	for _, ti := range m.Layout.Tensors {
		if model.Prunable(ti) && !slices.Equal(tensorMask(seq, ti), tensorMask(one, ti)) {
			same[ti.Layer] = false
		}
	}
	if !same[0] || same[1] {
		t.Errorf("masks equal to one-pass's: block 0 %v (want true), block 1 %v (want false)", same[0], same[1])
	}
	bi := func(batch int) []float64 {
		c := *cal
		c.Batch = batch
		s, err := BlockInfluence(ctx, m, &c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := bi(1), bi(6)
	if !slices.Equal(a, b) || !(a[0] > 0 && a[0] < 2 && a[1] > 0 && a[1] < 2) {
		t.Errorf("block influence %v with batch 1, %v with batch 6", a, b)
	}
}
