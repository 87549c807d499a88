package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Golden files from PyTorch (scripts/make_encoder_goldens.py): tiny random
// BERT, RoBERTa and DistilBERT classifiers in F32 and F16, covering
// single-label, multi-label and regression heads, pruned_heads, TF-era
// gamma/beta names, position_ids buffers and RoBERTa's unused pooler, on
// a batch of a sentence pair and two padded single sentences: logits, loss
// and every gradient.
var encoderGoldens = []struct {
	name    string
	dtype   DType
	problem ProblemType
	labels  []string
	heads   []int
}{
	{"bert-f32", F32, SingleLabel, []string{"LABEL_0", "LABEL_1", "LABEL_2"}, []int{4, 2}},
	{"bert-f16", F16, MultiLabel, []string{"toxic", "obscene", "threat", "insult"}, []int{4, 4}},
	{"roberta-f32", F32, SingleLabel, []string{"negative", "neutral", "positive"}, []int{4, 4}},
	{"roberta-f16", F16, Regression, []string{"LABEL_0"}, []int{4, 4}},
	{"distilbert-f32", F32, SingleLabel, []string{"NEGATIVE", "POSITIVE"}, []int{4, 4}},
	{"distilbert-f16", F16, Regression, []string{"LABEL_0", "LABEL_1"}, []int{4, 4}},
}

type encoderGolden struct {
	IDs     []int32   `json:"ids"`
	TypeIDs []int32   `json:"type_ids"`
	Mask    []int32   `json:"attention_mask"`
	B       int       `json:"batch"`
	T       int       `json:"seq"`
	Labels  []float64 `json:"labels"`
	Logits  []float64 `json:"logits"`
	Loss    float64   `json:"loss"`
}

func (g encoderGolden) batch() EncoderBatch {
	return EncoderBatch{IDs: g.IDs, TypeIDs: g.TypeIDs, Mask: g.Mask, T: g.T}
}

func (g encoderGolden) targets(p ProblemType) ClassifierTargets {
	var t ClassifierTargets
	for _, v := range g.Labels {
		if p == SingleLabel {
			t.Classes = append(t.Classes, int32(v))
		} else {
			t.Values = append(t.Values, float32(v))
		}
	}
	return t
}

func loadEncoderGolden(t *testing.T, dir string) encoderGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g encoderGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEncoderGoldens(t *testing.T) {
	for _, gm := range encoderGoldens {
		t.Run(gm.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "goldens", gm.name)
			m, err := Load(dir, LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			c := &m.Config
			if c.Problem != gm.problem || !slices.Equal(c.Labels, gm.labels) {
				t.Errorf("problem %s labels %q, want %s %q", c.Problem, c.Labels, gm.problem, gm.labels)
			}
			for l, d := range c.Layers {
				if d.Heads != gm.heads[l] {
					t.Errorf("layer %d: %d heads, want %d", l, d.Heads, gm.heads[l])
				}
			}
			for _, ti := range m.Layout.Tensors {
				if ti.DType != gm.dtype {
					t.Fatalf("%s: dtype %s, want %s", ti.Name, ti.DType, gm.dtype)
				}
			}
			g := loadEncoderGolden(t, dir)
			st, err := NewClassifierState(m, g.B, g.T)
			if err != nil {
				t.Fatal(err)
			}
			grads := make([]float32, m.Layout.Total)
			loss, err := st.TrainStep(g.batch(), g.targets(c.Problem), grads)
			if err != nil {
				t.Fatal(err)
			}
			logits := st.logits[:g.B*len(c.Labels)]
			for i, w := range g.Logits {
				if d := math.Abs(float64(logits[i]) - w); d > 1e-4*(1+math.Abs(w)) {
					t.Fatalf("logit %d: %.7g, PyTorch %.7g", i, logits[i], w)
				}
			}
			if relErr(loss, g.Loss) > 1e-5 {
				t.Errorf("loss %.8f, PyTorch %.8f", loss, g.Loss)
			}
			// The floor covers gradients that are zero in exact arithmetic
			// (key biases: softmax ignores a shift per query) and rounding
			// noise in both.
			checkGoldenGrads(t, m, grads, filepath.Join(dir, "golden_grads.safetensors"), 1e-6)
			// The same predictions from Classify, without the type ids
			// that DistilBERT ignores and RoBERTa has only zeros of.
			in := g.batch()
			if c.TypeVocab <= 1 {
				in.TypeIDs = nil
			}
			again, err := m.Classify(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if i := firstBitDiff(again, logits); i >= 0 {
				t.Errorf("Classify logit %d: %g, training State %g", i, again[i], logits[i])
			}
		})
	}
}
