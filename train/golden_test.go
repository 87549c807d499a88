package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/model"
)

// golden is train/testdata/*/golden.json, made by
// scripts/make_train_goldens.py with PyTorch.
type golden struct {
	Config struct {
		Steps       int       `json:"steps"`
		BatchSize   int       `json:"batch_size"`
		SeqLen      int       `json:"seq_len"`
		LR          float64   `json:"lr"`
		WarmupSteps int       `json:"warmup_steps"`
		Schedule    string    `json:"schedule"`
		MinLR       float64   `json:"min_lr"`
		Betas       []float64 `json:"betas"`
		Eps         float64   `json:"eps"`
		WeightDecay float64   `json:"weight_decay"`
		GradClip    float64   `json:"grad_clip"`
		Temperature float64   `json:"temperature"`
		Alpha       float64   `json:"alpha"`
	} `json:"config"`
	Steps []struct {
		Inputs   []int32  `json:"inputs"`
		Targets  []int32  `json:"targets"`
		Loss     float64  `json:"loss"`
		LMLoss   float64  `json:"lm_loss"`
		KDLoss   *float64 `json:"kd_loss"`
		LR       float64  `json:"lr"`
		GradNorm float64  `json:"grad_norm"`
	} `json:"steps"`
}

func loadGolden(t *testing.T, dir string) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func loadModel(t *testing.T, dir string) *model.Model {
	t.Helper()
	m, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12)
}

// Train reproduces PyTorch's loss, LR, gradient norm and final weights,
// step by step, on the same batches: warmup + cosine with clipping and
// distillation from a teacher with masks held (Llama), and warmup + linear
// decay without clipping (GPT-2, Conv1D weights).
func TestTrainMatchesPyTorch(t *testing.T) {
	for _, name := range []string{"llama-distill", "gpt2-linear"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			g := loadGolden(t, dir)
			m := loadModel(t, filepath.Join(dir, "student"))
			masked := MaskZeros(m)
			c := g.Config
			cfg := Config{
				Steps: c.Steps, BatchSize: c.BatchSize, SeqLen: c.SeqLen, LR: c.LR, WarmupSteps: c.WarmupSteps,
				Schedule: Schedule(c.Schedule), MinLR: c.MinLR, Beta1: c.Betas[0], Beta2: c.Betas[1], Eps: c.Eps,
				WeightDecay: c.WeightDecay, GradClip: c.GradClip, DebugMasks: true,
			}
			if _, err := os.Stat(filepath.Join(dir, "teacher")); err == nil {
				cfg.Teacher = loadModel(t, filepath.Join(dir, "teacher"))
				cfg.Distill = Distill{Temperature: c.Temperature, Alpha: c.Alpha}
				if masked == 0 {
					t.Fatal("the distilled student should be pruned")
				}
			}
			src := &Batches{}
			for _, s := range g.Steps {
				src.Inputs, src.Targets = append(src.Inputs, s.Inputs), append(src.Targets, s.Targets)
			}
			res, err := Train(context.Background(), m, src, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range g.Steps {
				got := res.Steps[i]
				checks := []struct {
					what      string
					got, want float64
				}{{"loss", got.Loss, s.Loss}, {"lm loss", got.LMLoss, s.LMLoss}, {"lr", got.LR, s.LR}, {"grad norm", got.GradNorm, s.GradNorm}}
				if s.KDLoss != nil {
					checks = append(checks, struct {
						what      string
						got, want float64
					}{"kd loss", got.KDLoss, *s.KDLoss})
				}
				for _, ch := range checks {
					if e := relErr(ch.got, ch.want); e > 2e-5 {
						t.Errorf("step %d %s = %.7g, PyTorch %.7g (rel err %.2g)", i+1, ch.what, ch.got, ch.want, e)
					}
				}
			}
			after := loadModel(t, filepath.Join(dir, "after"))
			gauge := keyBias(m)
			var maxDiff, maxW float64
			for i, w := range after.W {
				if gauge[i] {
					continue
				}
				maxDiff = math.Max(maxDiff, math.Abs(float64(m.W[i]-w)))
				maxW = math.Max(maxW, math.Abs(float64(w)))
				if m.Mask != nil && !m.Mask.Get(i) && m.W[i] != 0 {
					t.Fatalf("pruned weight %d is %g after training", i, m.W[i])
				}
			}
			if maxDiff > 2e-5*maxW {
				t.Errorf("final weights differ from PyTorch's by up to %.3g (max |w| %.3g)", maxDiff, maxW)
			}
			t.Logf("%d steps, %d masked weights, max |Δw| %.3g of max |w| %.3g", len(res.Steps), masked, maxDiff, maxW)
		})
	}
}

// keyBias marks GPT-2's key biases (the middle third of c_attn.bias). The
// loss does not depend on them (softmax is invariant to the constant q·b_k
// they add to every score of a query), so their gradients are rounding
// noise of either sign that Adam's normalisation turns into ±lr steps: they
// are not comparable across implementations.
func keyBias(m *model.Model) []bool {
	out := make([]bool, m.Layout.Total)
	if m.Config.Arch != model.GPT2 {
		return out
	}
	for _, ti := range m.Layout.Tensors {
		if strings.HasSuffix(ti.Name, "attn.c_attn.bias") {
			h := ti.Size / 3
			for i := h; i < 2*h; i++ {
				out[ti.Offset+i] = true
			}
		}
	}
	return out
}
