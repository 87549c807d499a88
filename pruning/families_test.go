package pruning

import (
	"context"
	"math"
	"slices"
	"testing"

	"lopper/model"
)

// Every pruning method and pattern runs on each family beyond Llama and
// GPT-2: Qwen3 (per-head q/k norms, head_dim 12 ≠ hidden/heads, YaRN RoPE),
// a Llama with llama3 RoPE and partial rotary, a Qwen3 with a sliding
// layer, Phi-3 (fused projections), Gemma, Gemma 2, Gemma 3, OLMo 2 and
// SmolLM3: masks hold, and structured results keep the q/k norms whole
// (OLMo 2's: the kept heads' entries), save, reload to the same config and
// logits, and stay finite.
func TestEveryMethodOnNewFamilies(t *testing.T) {
	window := stQwen3Config(3, 4, 2, 24)
	window.SlidingWindow, window.Kinds = 3, []model.LayerKind{{}, {Sliding: true}, {}}
	phi3 := stLlamaConfig(2, 4, 2, 24, false)
	phi3.ModelType, phi3.RotaryDim, phi3.SlidingWindow = "phi3", 6, 5
	// Gemma 2: head_dim 12 ≠ hidden/heads, GQA, four norms, softcaps,
	// window 4 < 9 tokens on layer 0; Gemma 3: plus q/k norms and a local
	// RoPE base.
	gemma2 := model.Config{
		Arch: model.Llama, ModelType: "gemma2", Hidden: 32, Vocab: 40, MaxPos: 32, HeadDim: 12,
		Layers:  []model.LayerDims{{Heads: 4, KVHeads: 2, Intermediate: 24}, {Heads: 4, KVHeads: 2, Intermediate: 24}},
		NormEps: 1e-6, RopeTheta: 10000, Act: model.GELUTanh, TiedEmbeddings: true,
		NormOffset: true, EmbedScale: true, PostNorms: true, QueryScale: 16, AttnSoftcap: 5, FinalSoftcap: 10,
		SlidingWindow: 4, Kinds: []model.LayerKind{{Sliding: true}, {}},
	}
	gemma := gemma2
	gemma.ModelType, gemma.PostNorms, gemma.QueryScale, gemma.AttnSoftcap, gemma.FinalSoftcap = "gemma", false, 0, 0, 0
	gemma.SlidingWindow, gemma.Kinds, gemma.Act = 0, nil, model.GELU
	gemma3 := gemma2
	gemma3.ModelType, gemma3.QKNorm, gemma3.RopeLocalTheta, gemma3.AttnSoftcap, gemma3.FinalSoftcap = "gemma3_text", true, 100, 0, 0
	gemma3.Rope = model.RoPEScaling{Type: model.RoPELinear, Factor: 8}
	olmo2 := stLlamaConfig(2, 4, 2, 24, false)
	olmo2.ModelType, olmo2.PostNorms, olmo2.NoPreNorms, olmo2.QKNorm, olmo2.QKNormWide = "olmo2", true, true, true, true
	smollm3 := stLlamaConfig(3, 4, 2, 24, false)
	smollm3.ModelType, smollm3.TiedEmbeddings, smollm3.SlidingWindow = "smollm3", true, 4
	smollm3.Kinds = []model.LayerKind{{}, {NoRoPE: true, Sliding: true}, {}}
	families := map[string]model.Config{
		"olmo2":                olmo2,   // no input norms, q/k norms over the whole projection
		"smollm3":              smollm3, // a NoPE layer that slides
		"phi3":                 phi3,    // fused qkv_proj and gate_up_proj, partial rotary, window 5
		"gemma":                gemma,   // (1 + w) norms, embedding scale, GeGLU (erf)
		"gemma2":               gemma2,
		"gemma3":               gemma3,
		"qwen3":                stQwen3Config(2, 4, 2, 24),
		"llama-partial-rotary": stConfigs()["llama-partial-rotary"],
		"qwen3-window-layer":   window, // sliding window 3 < 9 tokens on layer 1
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
					for l, d := range out.Config.Layers {
						for _, role := range []model.Role{model.RoleQNorm, model.RoleKNorm} {
							ti, ok := out.Layout.Find(l, role)
							if cfg.QKNormWide { // sliced with the heads
								want := d.Heads * cfg.HeadDim
								if role == model.RoleKNorm {
									want = d.KVHeads * cfg.HeadDim
								}
								if !ok || ti.Size != want {
									t.Errorf("layer %d %s: %+v, want %d entries", l, role, ti, want)
								}
								continue
							}
							if ok != cfg.QKNorm || (ok && (ti.Size != cfg.HeadDim || !slices.Equal(ti.Of(out.W), srcNorm(t, m, out, l, role)))) {
								t.Errorf("layer %d %s: present %v, want %v and the source block's weights", l, role, ok, cfg.QKNorm)
							}
						}
					}
					back, _ := stSaveLoad(t, out)
					c, b := out.Config, back.Config
					if !slices.Equal(b.Layers, c.Layers) || b.HeadDim != c.HeadDim || b.RotaryDim != c.RotaryDim || b.QKNorm != c.QKNorm || b.Rope.String() != c.Rope.String() ||
						b.SlidingWindow != c.SlidingWindow || !slices.Equal(b.Kinds, c.Kinds) {
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

// Dropping layers keeps each remaining layer's sliding window (the kinds
// follow their blocks), in memory and through a save.
func TestSliceKeepsSlidingLayers(t *testing.T) {
	cfg := stQwen3Config(3, 4, 2, 24)
	cfg.SlidingWindow, cfg.Kinds = 3, []model.LayerKind{{}, {Sliding: true}, {}}
	m := stRandomModel(t, cfg, 5)
	for _, tc := range []struct {
		drop   int
		window int
		kinds  []model.LayerKind
	}{
		{0, 3, []model.LayerKind{{Sliding: true}, {}}},
		{1, 0, nil},
		{2, 3, []model.LayerKind{{}, {Sliding: true}}},
	} {
		p := KeepAll(&m.Config)
		p.Layers[tc.drop].Drop = true
		out, err := Slice(m, p)
		if err != nil {
			t.Fatal(err)
		}
		if out.Config.SlidingWindow != tc.window || !slices.Equal(out.Config.Kinds, tc.kinds) {
			t.Errorf("drop %d: window %d kinds %v, want %d %v", tc.drop, out.Config.SlidingWindow, out.Config.Kinds, tc.window, tc.kinds)
		}
		back, _ := stSaveLoad(t, out)
		if back.Config.SlidingWindow != tc.window || !slices.Equal(back.Config.Kinds, tc.kinds) {
			t.Errorf("drop %d: reloaded window %d kinds %v", tc.drop, back.Config.SlidingWindow, back.Config.Kinds)
		}
	}
}

// Head and neuron surgery on Phi-3 slices q, k, v and gate, up as their
// own roles; the saved checkpoint fuses the kept rows again (qkv_proj: q,
// then k, then v), and reloads to the source rows: query heads 2 and 3
// (kv head 1), neurons 1, 3, 5.
func TestPhi3SurgeryRefuses(t *testing.T) {
	cfg := stLlamaConfig(1, 4, 2, 24, false)
	cfg.ModelType, cfg.RotaryDim = "phi3", 6
	m := stRandomModel(t, cfg, 9)
	out, err := Slice(m, Plan{Layers: []LayerPlan{{Heads: []int{2, 3}, KVHeads: []int{1}, Neurons: []int{1, 3, 5}}}})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := stSaveLoad(t, out)
	hd, H := cfg.HeadDim, cfg.Hidden
	rows := func(m *model.Model, role model.Role, from, n int) []float32 {
		ti, _ := m.Layout.Find(0, role)
		return ti.Of(m.W)[from*H : (from+n)*H]
	}
	for _, c := range []struct {
		role        model.Role
		src, dst, n int // source row, reloaded row, rows
		stored      string
		storedRow   int
	}{
		{model.RoleQ, 2 * hd, 0, 2 * hd, "self_attn.qkv_proj", 0},
		{model.RoleK, hd, 0, hd, "self_attn.qkv_proj", 2 * hd},
		{model.RoleV, hd, 0, hd, "self_attn.qkv_proj", 3 * hd},
		{model.RoleGate, 5, 2, 1, "mlp.gate_up_proj", 0},
		{model.RoleUp, 3, 1, 1, "mlp.gate_up_proj", 3},
	} {
		ti, _ := back.Layout.Find(0, c.role)
		if ti.Stored != "model.layers.0."+c.stored+".weight" || ti.StoredRow != c.storedRow {
			t.Errorf("%s: stored as %s from row %d", c.role, ti.Stored, ti.StoredRow)
		}
		if !slices.Equal(rows(back, c.role, c.dst, c.n), rows(m, c.role, c.src, c.n)) {
			t.Errorf("%s: reloaded rows %d… differ from source rows %d…", c.role, c.dst, c.src)
		}
	}
}

// OLMo 2's q/k norms span the whole projection: head surgery keeps the
// kept heads' entries of their weights (query heads 2 and 3, kv head 1).
func TestOLMo2SurgerySlicesQKNorms(t *testing.T) {
	cfg := stLlamaConfig(1, 4, 2, 24, false)
	cfg.ModelType, cfg.PostNorms, cfg.NoPreNorms, cfg.QKNorm, cfg.QKNormWide = "olmo2", true, true, true, true
	m := stRandomModel(t, cfg, 11)
	out, err := Slice(m, Plan{Layers: []LayerPlan{{Heads: []int{2, 3}, KVHeads: []int{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	hd := cfg.HeadDim
	for _, c := range []struct {
		role    model.Role
		from, n int
	}{{model.RoleQNorm, 2 * hd, 2 * hd}, {model.RoleKNorm, hd, hd}} {
		src, _ := m.Layout.Find(0, c.role)
		got, _ := out.Layout.Find(0, c.role)
		if !slices.Equal(got.Of(out.W), src.Of(m.W)[c.from:c.from+c.n]) {
			t.Errorf("%s: %v, want source entries %d…%d", c.role, got.Of(out.W), c.from, c.from+c.n-1)
		}
	}
}
