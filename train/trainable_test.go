package train

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// trainTiny trains the llama or gpt2 test student for a few steps with
// trainable and recompute and returns its weights before and after.
func trainTiny(t *testing.T, family, trainable string, recompute bool) (*model.Model, []float32, *Result, error) {
	t.Helper()
	m := student(t)
	if family == "gpt2" {
		m = loadModel(t, filepath.Join("testdata", "gpt2-linear", "student"))
		MaskZeros(m)
	}
	before := slices.Clone(m.W)
	res, err := Train(context.Background(), m, Stream{Tokens: patternTokens(3000, m.Config.Vocab, 4)}, Config{
		Steps: 4, BatchSize: 4, SeqLen: 12, LR: 3e-3, WarmupSteps: 1, GradClip: 1, WeightDecay: 0.01, Seed: 3,
		Trainable: trainable, Recompute: recompute,
	})
	return m, before, res, err
}

// Only the tensors trainable matches change; the others keep their weights
// bit for bit, for llama and gpt2. A pattern that matches nothing is an
// error naming it, and one that does not compile fails validation.
func TestTrainTrainableFreezesTheRest(t *testing.T) {
	for family, pattern := range map[string]string{"llama": `layers\.1\.(mlp|self_attn\.q_proj)`, "gpt2": `h\.1\.mlp\.`} {
		m, before, res, err := trainTiny(t, family, pattern, false)
		if err != nil {
			t.Fatalf("%s: %v", family, err)
		}
		if len(res.Steps) != 4 {
			t.Fatalf("%s: %d steps", family, len(res.Steps))
		}
		re := regexp.MustCompile(pattern)
		for _, ti := range m.Layout.Tensors {
			same := slices.Equal(ti.Of(m.W), ti.Of(before))
			if trained := re.MatchString(ti.Name); trained == same {
				t.Errorf("%s: %s trainable %v, unchanged %v", family, ti.Name, trained, same)
			}
		}
	}
	if _, _, _, err := trainTiny(t, "llama", `layers\.9\.`, false); err == nil || !strings.Contains(err.Error(), `trainable "layers\\.9\\." matches no tensor`) {
		t.Errorf("no match: %v", err)
	}
	if _, _, _, err := trainTiny(t, "llama", `(`, false); err == nil || !strings.Contains(err.Error(), `trainable "("`) {
		t.Errorf("bad pattern: %v", err)
	}
}

// Recomputing activations trains to the same weights and losses, bit for
// bit, as keeping them, for llama and gpt2, with and without a selection.
func TestTrainRecomputeBitIdentical(t *testing.T) {
	for _, family := range []string{"llama", "gpt2"} {
		for _, pattern := range []string{"", `(layers|h)\.0\.|norm|ln_`} {
			m1, _, r1, err := trainTiny(t, family, pattern, false)
			if err != nil {
				t.Fatal(err)
			}
			m2, _, r2, err := trainTiny(t, family, pattern, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m1.W, m2.W) {
				t.Errorf("%s %q: weights differ with recompute", family, pattern)
			}
			for i := range r1.Steps {
				if r1.Steps[i].Loss != r2.Steps[i].Loss || r1.Steps[i].GradNorm != r2.Steps[i].GradNorm {
					t.Errorf("%s %q step %d: %+v with recompute, %+v without", family, pattern, i+1, r2.Steps[i], r1.Steps[i])
				}
			}
		}
	}
}
