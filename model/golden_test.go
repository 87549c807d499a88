package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Golden files from PyTorch (scripts/make_model_goldens.py): tiny random
// Llama (biases, explicit head_dim, BF16), Qwen2 (q/k/v biases, F16,
// sharded) and GPT-2 (gelu_new, Conv1D, unprefixed names with buffers)
// models with the logits, loss and gradients PyTorch computes; and
// (scripts/make_family_goldens.py) the RoPE scalings llama3 (BF16), yarn
// (Qwen2, transformers 5.x rope_parameters), longrope, linear (Mistral) and
// dynamic, partial rotary with head_dim ≠ hidden/heads, and Qwen3 (BF16).
var goldenModels = []struct {
	name  string
	dtype DType
}{
	{"llama-bf16", BF16}, {"qwen2-f16", F16}, {"gpt2-gelu-new", F32},
	{"llama3-rope-bf16", BF16}, {"yarn-f32", F32}, {"longrope-f32", F32}, {"linear-f32", F32},
	{"dynamic-f32", F32}, {"partial-rotary-f32", F32}, {"qwen3-bf16", BF16},
	// scripts/make_family2_goldens.py: sliding windows shorter than the
	// sequence (Mistral on every layer, Qwen2 on the last layer).
	{"mistral-window-f32", F32}, {"qwen2-window-bf16", BF16},
	// Phi-3 (fused qkv_proj and gate_up_proj, window 3) and Phi-4-mini
	// (partial rotary 0.75, GQA, longrope, tied).
	{"phi3-f32", F32}, {"phi4-mini-bf16", BF16},
	// Gemma ((1 + w) norms, √hidden embedding scale in BF16, GeGLU), Gemma 2
	// (four norms, query_pre_attn_scalar, both softcaps, window on even
	// layers) and Gemma 3 (q/k norms, local RoPE base, linear scaling on
	// the global layer); Gemma 3 again in transformers 5.x's config form
	// (rope_parameters keyed by layer type).
	{"gemma-bf16", BF16}, {"gemma2-bf16", BF16}, {"gemma3-f32", F32}, {"gemma3-v5-f32", F32},
	// OLMo 2 (post-norms only, q/k norms over the whole projection) and
	// SmolLM3 (a NoPE layer, which slides).
	{"olmo2-f32", F32}, {"smollm3-bf16", BF16},
}

type golden struct {
	Tokens  []int32   `json:"tokens"`
	Targets []int32   `json:"targets"`
	B       int       `json:"batch"`
	T       int       `json:"seq"`
	Logits  []float64 `json:"logits"`
	Loss    float64   `json:"loss"`
	// PrefixLogits are PyTorch's logits of a pass over the first PrefixSeq
	// tokens of each sequence (dynamic and longrope: the other length
	// regime of the RoPE tables).
	PrefixSeq    int       `json:"prefix_seq"`
	PrefixLogits []float64 `json:"prefix_logits"`
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

func TestGoldenLogitsAndGradients(t *testing.T) {
	for _, gm := range goldenModels {
		t.Run(gm.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "goldens", gm.name)
			m, err := Load(dir, LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range m.Layout.Tensors {
				if ti.DType != gm.dtype {
					t.Fatalf("%s: dtype %s, want %s", ti.Name, ti.DType, gm.dtype)
				}
			}
			g := loadGolden(t, dir)
			st, err := NewState(m, g.B, g.T)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := st.Forward(g.Tokens)
			if err != nil {
				t.Fatal(err)
			}
			checkLogits(t, logits, g.Logits)
			if g.PrefixSeq > 0 {
				checkPrefixLogits(t, m, g)
			}
			dl := make([]float32, len(logits))
			loss, err := CrossEntropy(logits, g.Targets, m.Config.Vocab, dl)
			if err != nil {
				t.Fatal(err)
			}
			if relErr(loss, g.Loss) > 1e-5 {
				t.Errorf("loss %.8f, PyTorch %.8f", loss, g.Loss)
			}
			grads := make([]float32, m.Layout.Total)
			if err := st.Backward(dl, grads); err != nil {
				t.Fatal(err)
			}
			checkGoldenGrads(t, m, grads, filepath.Join(dir, "golden_grads.safetensors"), 1e-7)
		})
	}
}

// checkGoldenGrads compares grads (over m's layout) with PyTorch's in the
// safetensors file at path: each entry within 1e-4 of its tensor's largest
// gradient, plus floor.
func checkGoldenGrads(t *testing.T, m *Model, grads []float32, path string, floor float64) {
	t.Helper()
	want := readGoldenGrads(t, path, m)
	for _, ti := range m.Layout.Tensors {
		got, exp := ti.Of(grads), ti.Of(want)
		scale := 0.0
		for _, v := range exp {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - exp[i])); d > 1e-4*scale+floor {
				t.Fatalf("%s[%d]: gradient %.7g, PyTorch %.7g (scale %.3g)", ti.Name, i, got[i], exp[i], scale)
			}
		}
	}
}

// checkPrefixLogits runs the golden's prefix pass, on the training State's
// tables and on a State of the prefix length, after the full-length pass.
func checkPrefixLogits(t *testing.T, m *Model, g golden) {
	t.Helper()
	prefix := make([]int32, 0, g.B*g.PrefixSeq)
	for b := 0; b < g.B; b++ {
		prefix = append(prefix, g.Tokens[b*g.T:b*g.T+g.PrefixSeq]...)
	}
	for _, T := range []int{g.T, g.PrefixSeq} {
		st, err := NewInferenceState(m, g.B, T)
		if err != nil {
			t.Fatal(err)
		}
		if T == g.T { // long pass first, then the short one on the same tables
			if _, err := st.ForwardBatch(g.Tokens, g.B, g.T); err != nil {
				t.Fatal(err)
			}
		}
		logits, err := st.ForwardBatch(prefix, g.B, g.PrefixSeq)
		if err != nil {
			t.Fatal(err)
		}
		checkLogits(t, logits, g.PrefixLogits)
	}
}

// checkLogits compares logits with PyTorch's within 1e-4 relative to the
// logits' magnitude.
func checkLogits(t *testing.T, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d logits, PyTorch %d", len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > 1e-4*math.Max(math.Abs(w), 0.1*scale) {
			t.Fatalf("logit %d: %.7g, PyTorch %.7g", i, got[i], w)
		}
	}
}

// readGoldenGrads reads PyTorch's gradients (named and shaped as the
// checkpoint stores the weights) into a buffer over m's layout.
func readGoldenGrads(t *testing.T, path string, m *Model) []float32 {
	t.Helper()
	out, _ := readSafetensors(t, path, m, true)
	return out
}

// readSafetensors reads the tensors of m's layout from the file at path
// into a new buffer, from a mapping, or with reads when mapped is false;
// scratch is the size of the reads' buffer.
func readSafetensors(t *testing.T, path string, m *Model, mapped bool) (out []float32, scratch int) {
	t.Helper()
	f, err := openSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	if !mapped {
		if err := unmapFile(f.mapped); err != nil {
			t.Fatal(err)
		}
		f.mapped = nil
	}
	src, err := matchTensors(&m.Config, m.Layout, []*stFile{f}, path)
	if err != nil {
		t.Fatal(err)
	}
	out = make([]float32, m.Layout.Total)
	for _, ti := range m.Layout.Tensors {
		if err := src.read(t.Context(), ti, ti.Of(out), true); err != nil {
			t.Fatal(err)
		}
	}
	return out, cap(f.scratch)
}

// Golden models survive Save → Load → Save byte for byte in their own
// dtype, and widening to F32 changes no weight.
func TestGoldenSaveRoundTrip(t *testing.T) {
	for _, gm := range goldenModels {
		t.Run(gm.name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", "goldens", gm.name), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			a, b, wide := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "f32")
			if err := m.Save(a, SaveOptions{Metadata: json.RawMessage(`{"step": "test", "sparsity": 0.5}`)}); err != nil {
				t.Fatal(err)
			}
			m2, err := Load(a, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if firstBitDiff(m.W, m2.W) >= 0 {
				t.Fatal("weights changed in a same-dtype save")
			}
			if err := m2.Save(b, SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			assertSameDirs(t, a, b)
			if err := m2.Save(wide, SaveOptions{DType: F32}); err != nil {
				t.Fatal(err)
			}
			m3, err := Load(wide, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if i := firstBitDiff(m.W, m3.W); i >= 0 {
				t.Fatalf("widening to F32 changed weight %d", i)
			}
			if m3.Layout.Tensors[0].DType != F32 {
				t.Fatalf("saved as %s, want F32", m3.Layout.Tensors[0].DType)
			}
		})
	}
}
