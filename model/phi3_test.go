package model

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A Phi-3 checkpoint's fused qkv_proj and gate_up_proj load as separate
// q, k, v, gate and up tensors (rows of the fused ones), and save fuses
// them again: only the fused names, in their shapes, are written.
func TestPhi3FusedTensorsSplitAndFuse(t *testing.T) {
	dir := filepath.Join("testdata", "goldens", "phi4-mini-bf16")
	m, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &m.Config
	if c.RotaryDim != 6 || c.Rope.Type != RoPELongRoPE || c.Rope.OriginalMaxPos != 5 || !c.TiedEmbeddings || c.SlidingWindow != 262144 || c.HFCompatible() != nil {
		t.Errorf("config: rotary %d, rope %v (original %d), tied %v, window %d, HF %v", c.RotaryDim, c.Rope, c.Rope.OriginalMaxPos, c.TiedEmbeddings, c.SlidingWindow, c.HFCompatible())
	}
	want := []struct {
		role   Role
		stored string
		row    int
	}{
		{RoleQ, "self_attn.qkv_proj", 0}, {RoleK, "self_attn.qkv_proj", 24}, {RoleV, "self_attn.qkv_proj", 32},
		{RoleGate, "mlp.gate_up_proj", 0}, {RoleUp, "mlp.gate_up_proj", 24},
	}
	for _, w := range want {
		ti, ok := m.Layout.Find(1, w.role)
		if !ok || ti.Stored != "model.layers.1."+w.stored+".weight" || ti.StoredRow != w.row || !Prunable(ti) {
			t.Errorf("%s: %+v, want rows from %d of %s", w.role, ti, w.row, w.stored)
		}
	}
	// The split rows are the checkpoint's rows.
	src := openST(t, filepath.Join(dir, weightsFile))
	e, _ := src.hdr.lookup("model.layers.1.self_attn.qkv_proj.weight")
	fused := make([]float32, 40*24)
	if err := (located{src, e, 0}).decode(t.Context(), fused, false, 40, 24); err != nil {
		t.Fatal(err)
	}
	k, _ := m.Layout.Find(1, RoleK)
	if !slices.Equal(k.Of(m.W), fused[24*24:32*24]) {
		t.Error("k_proj is not rows 24…31 of qkv_proj")
	}

	out := filepath.Join(t.TempDir(), "out")
	if err := m.Save(out, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	f := openST(t, filepath.Join(out, weightsFile))
	var names []string
	for _, e := range f.hdr.Entries {
		names = append(names, e.Name)
		if strings.Contains(e.Name, "q_proj") || strings.Contains(e.Name, "gate_proj") {
			t.Errorf("saved %s: the split name", e.Name)
		}
	}
	for _, n := range []string{"model.layers.0.self_attn.qkv_proj.weight", "model.layers.1.mlp.gate_up_proj.weight"} {
		e, ok := f.hdr.lookup(n)
		if !ok {
			t.Fatalf("saved %v: no %s", names, n)
		}
		if shape := e.Shape; (strings.Contains(n, "qkv") && !slices.Equal(shape, []int{40, 24})) || (strings.Contains(n, "gate_up") && !slices.Equal(shape, []int{48, 24})) {
			t.Errorf("%s: shape %v", n, shape)
		}
	}
}

// Phi-3's legacy rope_scaling types "su" and "yarn" are longrope
// (Phi3Config._rope_scaling_adjustment), in Phi-3 configs only, and such a
// config saves unchanged.
func TestPhi3LegacyRoPETypes(t *testing.T) {
	base := `"hidden_size":16,"intermediate_size":24,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":40,"max_position_embeddings":64,"original_max_position_embeddings":16,"rope_scaling":{"type":"%s","short_factor":[1,1,1,1],"long_factor":[1,2,3,4]}`
	for _, typ := range []string{"su", "yarn", "longrope"} {
		src := `{"model_type":"phi3",` + strings.Replace(base, "%s", typ, 1) + `}`
		c, err := ParseConfig([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if c.Rope.Type != RoPELongRoPE || c.Rope.OriginalMaxPos != 16 {
			t.Errorf("%s: rope %v, original %d", typ, c.Rope, c.Rope.OriginalMaxPos)
		}
		out, err := c.MarshalHF("")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `"type": "`+typ+`"`) || strings.Contains(string(out), "rope_type") {
			t.Errorf("%s: rope_scaling rewritten:\n%s", typ, out)
		}
	}
	if _, err := ParseConfig([]byte(`{"model_type":"llama",` + strings.Replace(base, "%s", "su", 1) + `}`)); err == nil || !strings.Contains(err.Error(), `"su"`) {
		t.Errorf("llama with type su: %v", err)
	}
}

// A Phi-3 checkpoint must hold the fused tensors in their fused shapes;
// errors name the fused tensor.
func TestPhi3RejectsBadFusedTensors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(ts []stOut) []stOut
		want   string
	}{
		{"unfused names", func(ts []stOut) []stOut {
			var out []stOut
			for _, t := range ts {
				if t.Name == "model.layers.0.self_attn.qkv_proj.weight" {
					out = append(out, stOut{Name: "model.layers.0.self_attn.q_proj.weight", DType: t.DType, Shape: []int{32, 24}, Data: t.Data[:32*24]})
					continue
				}
				out = append(out, t)
			}
			return out
		}, `tensor "model.layers.0.self_attn.q_proj.weight": unexpected`},
		{"missing", func(ts []stOut) []stOut {
			return slices.DeleteFunc(ts, func(t stOut) bool { return t.Name == "model.layers.1.mlp.gate_up_proj.weight" })
		}, `tensor "model.layers.1.mlp.gate_up_proj.weight" (shape [80 24]) is missing`},
		{"short", func(ts []stOut) []stOut {
			for i, t := range ts {
				if t.Name == "model.layers.1.mlp.gate_up_proj.weight" {
					ts[i].Shape, ts[i].Data = []int{40, 24}, t.Data[:40*24]
				}
			}
			return ts
		}, `tensor "model.layers.1.mlp.gate_up_proj.weight": shape [40 24], but the config implies [80 24]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := savedTiny(t, "phi3")
			rewriteWeights(t, dir, tc.mutate(fusedOuts(t, m)))
			if _, err := Load(dir, LoadOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), weightsFile) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// openST opens a safetensors file for the test, closed when it ends.
func openST(t *testing.T, path string) *stFile {
	t.Helper()
	f, err := openSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

// fusedOuts returns m's tensors as Save writes them (fused).
func fusedOuts(t *testing.T, m *Model) []stOut {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "w")
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	src := openST(t, filepath.Join(dir, weightsFile))
	var ts []stOut
	for _, e := range src.hdr.Entries {
		rows, cols := e.Shape[0], 1
		if len(e.Shape) > 1 {
			cols = e.Shape[1]
		}
		data := make([]float32, rows*cols)
		if err := (located{src, e, 0}).decode(t.Context(), data, false, rows, cols); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, stOut{Name: e.Name, DType: e.DType, Shape: e.Shape, Data: data})
	}
	return ts
}

// A Phi-3 config with a partial rotary dim writes partial_rotary_factor so
// that transformers' int(head_dim · factor) gives that dim back.
func TestPhi3WritesPartialRotaryFactor(t *testing.T) {
	for _, hd := range []int{6, 10, 12, 14, 20, 24, 28, 40, 56, 80, 96, 112, 128, 160, 192, 200, 256} {
		for rot := 2; rot < hd; rot += 2 {
			c := tinyConfigs()["phi3"]
			c.Rope, c.HeadDim, c.RotaryDim = RoPEScaling{}, hd, rot
			out, err := c.MarshalHF("")
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfig(out)
			if err != nil {
				t.Fatalf("head dim %d rotary %d: %v\n%s", hd, rot, err, out)
			}
			if back.RotaryDim != rot || strings.Contains(string(out), lopperDimsKey) {
				t.Fatalf("head dim %d rotary %d: reloaded rotary dim %d\n%s", hd, rot, back.RotaryDim, out)
			}
		}
	}
}
