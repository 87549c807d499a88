package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// tinyClassifier is a small BERT-family classifier with seeded random
// weights: vocabulary 20 ([PAD] 0, [CLS] 2, [SEP] 3), 2 layers, the given
// problem type and labels.
func tinyClassifier(t *testing.T, modelType string, problem model.ProblemType, labels int, seed uint64) *model.Model {
	t.Helper()
	keys := `"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32`
	if modelType == "distilbert" {
		keys = `"dim": 16, "n_layers": 2, "n_heads": 2, "hidden_dim": 32`
	}
	cfg, err := model.ParseConfig(fmt.Appendf(nil, `{"model_type": %q, %s, "vocab_size": 20, "max_position_embeddings": 24,
		"num_labels": %d, "problem_type": %q}`, modelType, keys, labels, problem))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, ti := range m.Layout.Tensors {
		w := ti.Of(m.W)
		for i := range w {
			switch {
			case ti.Role == model.RoleEmbedNorm || ti.Role == model.RoleAttnNorm || ti.Role == model.RoleMLPNorm:
				w[i] = 1
			case len(ti.Shape) == 2:
				w[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	return m
}

// markedExamples are n sequences [CLS] x… [SEP] of 2 to 10 random tokens
// 4…19, labelled by whether token 7 occurs in them: class 0/1
// (single-label), [has 7, has 8] (multi-label) or the count of 7s
// (regression).
func markedExamples(n int, problem model.ProblemType, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 5))
	out := make([]Example, n)
	for i := range out {
		ids := []int32{2}
		for range 2 + rng.IntN(9) {
			ids = append(ids, int32(4+rng.IntN(16)))
		}
		ids = append(ids, 3)
		c7, c8 := 0, 0
		for _, id := range ids {
			c7 += b2i(id == 7)
			c8 += b2i(id == 8)
		}
		e := Example{IDs: ids, TypeIDs: make([]int32, len(ids))}
		switch problem {
		case model.SingleLabel:
			e.Class = int32(b2i(c7 > 0))
		case model.MultiLabel:
			e.Values = []float32{float32(b2i(c7 > 0)), float32(b2i(c8 > 0))}
		case model.Regression:
			e.Values = []float32{float32(c7)}
		}
		out[i] = e
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Fine-tuning lowers each problem type's loss, holds a random mask (and
// the zeros of the padding), reports the eval loss at its steps, and gives
// bit-identical weights for GOMAXPROCS 1 and 3; another seed gives other
// weights.
func TestTrainClassifierLearnsAndIsDeterministic(t *testing.T) {
	for _, c := range []struct {
		mt      string
		problem model.ProblemType
		labels  int
	}{{"bert", model.SingleLabel, 2}, {"roberta", model.MultiLabel, 2}, {"distilbert", model.Regression, 1}} {
		t.Run(c.mt, func(t *testing.T) {
			data, dev := markedExamples(400, c.problem, 1), markedExamples(64, c.problem, 2)
			run := func(procs int, seed uint64) (*model.Model, *Result) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				m := tinyClassifier(t, c.mt, c.problem, c.labels, 1)
				m.Mask = m.Layout.NewMask()
				rng := rand.New(rand.NewPCG(9, 9))
				for _, ti := range m.Layout.Tensors {
					if model.Prunable(ti) {
						for i := ti.Offset; i < ti.Offset+ti.Size; i++ {
							if rng.IntN(4) == 0 {
								m.Mask.Set(i, false)
							}
						}
					}
				}
				m.ApplyMask()
				res, err := TrainClassifier(context.Background(), m, data, dev, Config{
					Steps: 150, BatchSize: 16, LR: 5e-3, WarmupSteps: 5, GradClip: 1, WeightDecay: 0.01, Seed: seed,
					EvalEvery: 75, EvalBatches: 2, DebugMasks: true,
				})
				if err != nil {
					t.Fatal(err)
				}
				return m, res
			}
			m1, r1 := run(1, 4)
			if !(r1.FinalLoss < 0.8*r1.InitialLoss) {
				t.Errorf("loss %g → %g: did not learn", r1.InitialLoss, r1.FinalLoss)
			}
			if r1.Steps[74].EvalLoss == nil || r1.Steps[149].EvalLoss == nil || r1.Steps[75].EvalLoss != nil || math.IsNaN(r1.EvalLoss) {
				t.Errorf("eval losses at steps 75 and 150 only; final %g", r1.EvalLoss)
			}
			if err := m1.CheckMask(); err != nil {
				t.Error(err)
			}
			if r1.Tokens != 150*16 {
				t.Errorf("%d examples scored, want %d", r1.Tokens, 150*16)
			}
			m3, r3 := run(3, 4)
			if !slices.Equal(m1.W, m3.W) || r1.FinalLoss != r3.FinalLoss {
				t.Error("GOMAXPROCS 3 gives other weights than GOMAXPROCS 1")
			}
			if m, _ := run(2, 5); slices.Equal(m.W, m1.W) {
				t.Error("seeds 4 and 5 gave the same weights")
			}
		})
	}
}

// Distilling a trained teacher into a pruned student reports the KD term,
// and with α = 1 the student moves towards the teacher's outputs.
func TestTrainClassifierDistills(t *testing.T) {
	for _, p := range []model.ProblemType{model.SingleLabel, model.MultiLabel, model.Regression} {
		t.Run(string(p), func(t *testing.T) {
			labels := 2
			if p == model.Regression {
				labels = 1
			}
			data := markedExamples(300, p, 3)
			teacher := tinyClassifier(t, "bert", p, labels, 2)
			if _, err := TrainClassifier(context.Background(), teacher, data, nil, Config{Steps: 150, BatchSize: 16, LR: 5e-3}); err != nil {
				t.Fatal(err)
			}
			st := tinyClassifier(t, "bert", p, labels, 3)
			gap := func() float64 {
				var d float64
				for _, e := range data[:64] {
					in := model.EncoderBatch{IDs: e.IDs, T: len(e.IDs)}
					a, err := st.Classify(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					b, err := teacher.Classify(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					for i := range a {
						d += math.Abs(float64(a[i] - b[i]))
					}
				}
				return d
			}
			before := gap()
			res, err := TrainClassifier(context.Background(), st, data, nil, Config{
				Steps: 150, BatchSize: 16, LR: 5e-3, Teacher: teacher, Distill: Distill{Temperature: 2, Alpha: 1},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps[0].KDLoss <= 0 || res.Steps[0].Loss != res.Steps[0].KDLoss {
				t.Errorf("α = 1: step 1 loss %g, KD %g", res.Steps[0].Loss, res.Steps[0].KDLoss)
			}
			if after := gap(); !(after < 0.7*before) {
				t.Errorf("distance to the teacher's logits %g → %g", before, after)
			}
		})
	}
}

// The classifier distillation gradient matches central finite differences
// of the loss, computed independently in float64, for each problem type;
// ignored examples (class < 0) get no gradient.
func TestClassifierDistillGradient(t *testing.T) {
	const b = 4
	rng := rand.New(rand.NewPCG(2, 2))
	d := Distill{Temperature: 1.5, Alpha: 0.3}
	for _, p := range []model.ProblemType{model.SingleLabel, model.MultiLabel, model.Regression} {
		labels := 3
		if p == model.Regression {
			labels = 1
		}
		n := b * labels
		student, teacher := make([]float32, n), make([]float32, n)
		for i := range student {
			student[i], teacher[i] = float32(rng.NormFloat64()*2), float32(rng.NormFloat64()*2)
		}
		tg := model.ClassifierTargets{Classes: []int32{2, -1, 0, 1}}
		if p != model.SingleLabel {
			tg = model.ClassifierTargets{Values: make([]float32, n)}
			for i := range tg.Values {
				tg.Values[i] = float32(rng.IntN(2))
				if p == model.Regression {
					tg.Values[i] = float32(rng.NormFloat64())
				}
			}
		}
		// kd(z) in float64, straight from the definitions.
		kd := func(z []float64) float64 {
			var s float64
			rows := 0
			for r := range b {
				if p == model.SingleLabel && tg.Classes[r] < 0 {
					continue
				}
				rows++
				for j := range labels {
					i := r*labels + j
					zt := float64(teacher[i])
					switch p {
					case model.Regression:
						s += (z[i] - zt) * (z[i] - zt)
					case model.MultiLabel:
						pt, ps := 1/(1+math.Exp(-zt/d.Temperature)), 1/(1+math.Exp(-z[i]/d.Temperature))
						s += d.Temperature * d.Temperature * (pt*math.Log(pt/ps) + (1-pt)*math.Log((1-pt)/(1-ps)))
					case model.SingleLabel:
						lse := func(x func(int) float64) float64 {
							var e float64
							for k := range labels {
								e += math.Exp(x(k) / d.Temperature)
							}
							return math.Log(e)
						}
						lt := lse(func(k int) float64 { return float64(teacher[r*labels+k]) })
						ls := lse(func(k int) float64 { return z[r*labels+k] })
						lpt := zt/d.Temperature - lt
						s += d.Temperature * d.Temperature * math.Exp(lpt) * (lpt - (z[i]/d.Temperature - ls))
					}
				}
			}
			if p == model.SingleLabel {
				return s / float64(rows)
			}
			return s / float64(n)
		}
		loss := func(z []float64) float64 {
			zf := make([]float32, n)
			for i, v := range z {
				zf[i] = float32(v)
			}
			own, err := model.ClassifierLoss(p, zf, labels, tg, nil)
			if err != nil {
				t.Fatal(err)
			}
			return (1-d.Alpha)*own + d.Alpha*kd(z)
		}
		dl := make([]float32, n)
		own, err := model.ClassifierLoss(p, student, labels, tg, dl)
		if err != nil {
			t.Fatal(err)
		}
		total, k, err := classifierDistill(p, student, teacher, tg, labels, d, own, dl)
		if err != nil {
			t.Fatal(err)
		}
		z := make([]float64, n)
		for i, v := range student {
			z[i] = float64(v)
		}
		if want := kd(z); math.Abs(k-want) > 1e-6*math.Max(1, want) || math.Abs(total-((1-d.Alpha)*own+d.Alpha*want)) > 1e-6 {
			t.Errorf("%s: kd %.9g total %.9g, direct kd %.9g", p, k, total, want)
		}
		// The float32 logits limit the step: differences of z ± h are
		// taken in float64 only for the KD part; the own loss is float32.
		for i, fd := range centralDifferences(loss, z, 1e-2) {
			if math.Abs(float64(dl[i])-fd) > 2e-3+1e-2*math.Abs(fd) {
				t.Errorf("%s: d loss / d z[%d] = %.6g, finite differences %.6g", p, i, dl[i], fd)
			}
			if p == model.SingleLabel && tg.Classes[i/labels] < 0 && dl[i] != 0 {
				t.Errorf("ignored example %d has gradient %g", i/labels, dl[i])
			}
		}
	}
}

// Models, examples and configs that cannot train are refused before the
// first step, saying why.
func TestTrainClassifierRefuses(t *testing.T) {
	m := tinyClassifier(t, "bert", model.SingleLabel, 2, 1)
	data := markedExamples(10, model.SingleLabel, 1)
	long := slices.Repeat([]int32{5}, 30)
	reg := tinyClassifier(t, "bert", model.Regression, 1, 1)
	for _, c := range []struct {
		name string
		m    *model.Model
		data []Example
		cfg  Config
		want string
	}{
		{"class", m, []Example{{IDs: []int32{2, 3}, Class: 2}}, Config{Steps: 1, LR: 1e-3}, "example 1: class 2 is not one of the model's 2 labels"},
		{"long", m, []Example{{IDs: long}}, Config{Steps: 1, LR: 1e-3}, "30 tokens exceeds the model's 24 positions"},
		{"empty", m, []Example{{}}, Config{Steps: 1, LR: 1e-3}, "no tokens"},
		{"eval", m, data, Config{Steps: 1, LR: 1e-3, EvalEvery: 1}, "needs eval examples"},
		{"lr", m, data, Config{Steps: 1}, "learning rate"},
		{"teacher", m, data, Config{Steps: 1, LR: 1e-3, Teacher: reg}, "teacher is a regression classifier of 1 labels"},
		{"values", reg, data, Config{Steps: 1, LR: 1e-3}, "0 target values for the model's 1 labels"},
	} {
		_, err := TrainClassifier(context.Background(), c.m, c.data, nil, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
