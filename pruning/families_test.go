package pruning

import (
	"context"
	"math"
	"slices"
	"testing"

	"lopper/model"
)

// Every pruning method and pattern runs on Qwen3 (per-head q/k norms,
// head_dim 12 ≠ hidden/heads, YaRN RoPE) and on a Llama with llama3 RoPE and
// partial rotary: masks hold, and structured results keep the q/k norms
// whole, save, reload to the same config and logits, and stay finite.
func TestEveryMethodOnNewFamilies(t *testing.T) {
	families := map[string]model.Config{
		"qwen3":                stQwen3Config(2, 4, 2, 24),
		"llama-partial-rotary": stConfigs()["llama-partial-rotary"],
	}
	type run struct {
		pattern Pattern
		methods []Method
	}
	weights := []Method{Magnitude, Random, Wanda, SparseGPT, Taylor}
	units := []Method{MethodL1, MethodL2, MethodActivation, Wanda, Taylor, Random}
	runs := []run{
		{Pattern{Kind: Unstructured}, weights},
		{Pattern{Kind: NM, N: 2, M: 4}, weights},
		{Pattern{Kind: Neurons}, units},
		{Pattern{Kind: Heads}, units},
		{Pattern{Kind: Layers}, []Method{MethodBlockInfluence, Taylor, Random}},
	}
	for name, cfg := range families {
		m := stRandomModel(t, cfg, 23)
		cal := tinyCalib(3, 8, cfg.Vocab, 5)
		toks := stTokens(2*9, cfg.Vocab, 6)
		for _, r := range runs {
			for _, method := range r.methods {
				t.Run(name+"/"+r.pattern.String()+"/"+string(method), func(t *testing.T) {
					o := Options{Method: method, Sparsity: 0.5, Pattern: r.pattern, Calib: cal, Seed: 3,
						SparseGPT: SparseGPTOptions{BlockSize: 16}}
					out, _, err := Prune(context.Background(), m, o)
					if err != nil {
						t.Fatal(err)
					}
					if !r.pattern.structured() {
						if err := VerifyMasks(out, nil); err != nil {
							t.Fatal(err)
						}
						if frac, _ := out.Sparsity(nil); frac == 0 {
							t.Error("nothing pruned")
						}
						checkFinite(t, stLogits(t, out, toks, 9))
						return
					}
					if out.NumParams() >= m.NumParams() {
						t.Errorf("%d parameters, source %d", out.NumParams(), m.NumParams())
					}
					for l := range out.Config.Layers {
						for _, role := range []model.Role{model.RoleQNorm, model.RoleKNorm} {
							ti, ok := out.Layout.Find(l, role)
							if ok != cfg.QKNorm || (ok && (ti.Size != cfg.HeadDim || !slices.Equal(ti.Of(out.W), srcNorm(t, m, out, l, role)))) {
								t.Errorf("layer %d %s: present %v, want %v and the source block's weights", l, role, ok, cfg.QKNorm)
							}
						}
					}
					back, _ := stSaveLoad(t, out)
					c, b := out.Config, back.Config
					if !slices.Equal(b.Layers, c.Layers) || b.HeadDim != c.HeadDim || b.RotaryDim != c.RotaryDim || b.QKNorm != c.QKNorm || b.Rope.String() != c.Rope.String() {
						t.Errorf("reloaded config %+v, saved %+v", b, c)
					}
					got := stLogits(t, back, toks, 9)
					checkFinite(t, got)
					stAssertClose(t, "reloaded logits", got, stLogits(t, out, toks, 9), 0)
				})
			}
		}
	}
}

// srcNorm returns the q/k norm weights of the source block that block l of
// out came from (layer pruning renumbers blocks; the norms are equal
// across blocks only by chance, so match by the block's other weights).
func srcNorm(t *testing.T, src, out *model.Model, l int, role model.Role) []float32 {
	t.Helper()
	attnNorm, _ := out.Layout.Find(l, model.RoleAttnNorm)
	for sl := range src.Config.Layers {
		sn, _ := src.Layout.Find(sl, model.RoleAttnNorm)
		if slices.Equal(sn.Of(src.W), attnNorm.Of(out.W)) {
			ti, _ := src.Layout.Find(sl, role)
			return ti.Of(src.W)
		}
	}
	t.Fatalf("block %d of the result matches no source block", l)
	return nil
}

func checkFinite(t *testing.T, x []float32) {
	t.Helper()
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logit %d is %g", i, v)
		}
	}
}
