package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type adamwGolden struct {
	Config struct {
		LR          float64    `json:"lr"`
		Betas       [2]float64 `json:"betas"`
		Eps         float64    `json:"eps"`
		WeightDecay float64    `json:"weight_decay"`
	} `json:"config"`
	Init  []float32   `json:"init"`
	Grads [][]float32 `json:"grads"`
	After [][]float32 `json:"after"`
	Clip  struct {
		MaxNorm float64   `json:"max_norm"`
		Grads   []float32 `json:"grads"`
		Norm    float64   `json:"norm"`
		Clipped []float32 `json:"clipped"`
	} `json:"clip"`
}

func loadAdamWGolden(t *testing.T) adamwGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "goldens", "adamw.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g adamwGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// A layout of one 2-D tensor [3, 4] (decayed) and one vector [5] (not).
func adamwLayout() *Layout {
	return &Layout{Total: 17, Tensors: []TensorInfo{
		{Name: "w", Shape: []int{3, 4}, Offset: 0, Size: 12, DType: F32, Layer: 0, Role: RoleQ},
		{Name: "b", Shape: []int{5}, Offset: 12, Size: 5, DType: F32, Layer: 0, Role: RoleQBias},
	}}
}

// AdamW reproduces torch.optim.AdamW step by step (weight decay on 2-D
// tensors only).
func TestAdamWMatchesPyTorch(t *testing.T) {
	g := loadAdamWGolden(t)
	opt, err := NewAdamW(adamwLayout(), AdamWConfig{LR: g.Config.LR, Beta1: g.Config.Betas[0], Beta2: g.Config.Betas[1], Eps: g.Config.Eps, WeightDecay: g.Config.WeightDecay})
	if err != nil {
		t.Fatal(err)
	}
	w := slices.Clone(g.Init)
	for step, grad := range g.Grads {
		if err := opt.Step(w, grad, nil); err != nil {
			t.Fatal(err)
		}
		for i, want := range g.After[step] {
			if math.Abs(float64(w[i]-want)) > 1e-6*(1+math.Abs(float64(want))) {
				t.Fatalf("step %d, element %d: %.8g, PyTorch %.8g", step+1, i, w[i], want)
			}
		}
	}
}

// Pruned entries stay exactly zero with zero moments; the others evolve as
// they do without a mask (AdamW is elementwise).
func TestAdamWHoldsMaskedAtZero(t *testing.T) {
	g := loadAdamWGolden(t)
	cfg := AdamWConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
	dense, err := NewAdamW(adamwLayout(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sparse, err := NewAdamW(adamwLayout(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mask := adamwLayout().NewMask()
	mask.Set(1, false)
	mask.Set(7, false)
	mask.Set(13, false)
	wd, ws := slices.Clone(g.Init), slices.Clone(g.Init)
	mask.ApplyTo(ws, 0)
	for _, grad := range g.Grads {
		if err := dense.Step(wd, grad, nil); err != nil {
			t.Fatal(err)
		}
		if err := sparse.Step(ws, grad, mask); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ws {
		if !mask.Get(i) {
			if ws[i] != 0 || sparse.M[i] != 0 || sparse.V[i] != 0 {
				t.Errorf("pruned %d: w %g, m %g, v %g; want all 0", i, ws[i], sparse.M[i], sparse.V[i])
			}
		} else if ws[i] != wd[i] {
			t.Errorf("kept %d: %g with a mask, %g without", i, ws[i], wd[i])
		}
	}
}

func TestClipGradNormMatchesPyTorch(t *testing.T) {
	c := loadAdamWGolden(t).Clip
	g := slices.Clone(c.Grads)
	norm := ClipGradNorm(g, c.MaxNorm)
	if relErr(norm, c.Norm) > 1e-6 {
		t.Errorf("norm %.8g, PyTorch %.8g", norm, c.Norm)
	}
	for i, want := range c.Clipped {
		if math.Abs(float64(g[i]-want)) > 1e-6*math.Abs(float64(want))+1e-9 {
			t.Errorf("clipped %d: %.8g, PyTorch %.8g", i, g[i], want)
		}
	}
	small := []float32{0.1, -0.2}
	if n := ClipGradNorm(small, 10); math.Abs(n-math.Sqrt(0.05)) > 1e-7 || small[0] != 0.1 || small[1] != -0.2 {
		t.Errorf("below the limit: norm %g, grads %v changed", n, small)
	}
}

func TestAdamWRejectsBadConfig(t *testing.T) {
	for _, c := range []AdamWConfig{
		{LR: -1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
		{LR: 1, Beta1: 1, Beta2: 0.99, Eps: 1e-8},
		{LR: 1, Beta1: 0.9, Beta2: 0.99, Eps: 0},
		{LR: math.NaN(), Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
	} {
		if _, err := NewAdamW(adamwLayout(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
