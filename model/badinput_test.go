package model

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stFileBytes assembles a safetensors file from a raw header and data.
func stFileBytes(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// Header validation: each malformed file gives an error that names the
// problem (and the tensor, where there is one), never a panic.
func TestParseHeaderRejects(t *testing.T) {
	data8 := make([]byte, 8)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty file", "truncated", nil},
		{"short prefix", "truncated", []byte{1, 2, 3}},
		{"header larger than file", "larger than the file", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...)},
		{"huge header length", "exceeds", binary.LittleEndian.AppendUint64(nil, math.MaxUint64)},
		{"not JSON", "not a JSON object", stFileBytes(`[1,2]   `, nil)},
		{"broken JSON", "header JSON", stFileBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`, data8)},
		{"trailing bytes", "trailing", stFileBytes(`{}x`, nil)},
		{"invalid UTF-8", "UTF-8", stFileBytes("{\"\xff\":1}", nil)},
		{"unknown dtype", `tensor "a": unknown dtype "F7"`, stFileBytes(`{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}`, data8)},
		{"missing dtype", `tensor "a": missing dtype`, stFileBytes(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, data8)},
		{"missing shape", `tensor "a": missing shape`, stFileBytes(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, data8)},
		{"unknown field", `tensor "a"`, stFileBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, data8)},
		{"negative dim", `tensor "a": negative dimension`, stFileBytes(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, data8)},
		{"shape/bytes mismatch", `tensor "a": shape [3] of F32 needs 12 bytes`, stFileBytes(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data8)},
		{"offsets out of range", `tensor "a": data_offsets [0, 16] out of range`, stFileBytes(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, data8)},
		{"reversed offsets", `tensor "a": data_offsets [8, 0] out of range`, stFileBytes(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, data8)},
		{"three offsets", `tensor "a": data_offsets must be [begin, end]`, stFileBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, data8)},
		{"overlap", `tensor "b": data_offsets [4, 8] overlap tensor "a"`, stFileBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data8)},
		{"gap", `tensor "b": data_offsets [4, 8] leave a gap`, stFileBytes(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data8)},
		{"trailing data", "cover 4 bytes but the data section has 8", stFileBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, data8)},
		{"duplicate name", `tensor "a": listed twice`, stFileBytes(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data8)},
		{"bad metadata", "__metadata__", stFileBytes(`{"__metadata__":{"format":1}}`, nil)},
		{"overflowing shape", `tensor "a": shape`, stFileBytes(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, data8)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseSafetensors(c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestParseHeaderAccepts(t *testing.T) {
	h, err := parseSafetensors(stFileBytes(`{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F16","shape":[0,3],"data_offsets":[8,8]}}   `, make([]byte, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != 3 || h.Entries[0].Name != "a" || h.Entries[1].Name != "b" || h.Metadata["format"] != "pt" {
		t.Fatalf("parsed %+v", h)
	}
}

// savedTiny saves a tiny random model of the given config and returns its
// directory.
func savedTiny(t *testing.T, cfg string) (string, *Model) {
	t.Helper()
	m := randomModel(t, tinyConfigs()[cfg], 9)
	dir := filepath.Join(t.TempDir(), "m")
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// rewriteWeights replaces model.safetensors with the given tensors.
func rewriteWeights(t *testing.T, dir string, ts []stOut) {
	t.Helper()
	path := filepath.Join(dir, weightsFile)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSafetensors(f, ts); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// outs returns m's tensors as writeSafetensors inputs.
func outs(m *Model) []stOut {
	var ts []stOut
	for _, ti := range m.Layout.Tensors {
		ts = append(ts, stOut{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Transposed: ti.Transposed, Data: ti.Of(m.W)})
	}
	return ts
}

// Model-level bad input: errors name the file and the tensor.
func TestLoadRejectsBadModels(t *testing.T) {
	const qName = "model.layers.1.self_attn.q_proj.weight"
	cases := []struct {
		name   string
		cfg    string
		mutate func(t *testing.T, dir string, m *Model)
		want   []string
		opts   LoadOptions
	}{
		{"truncated", "llama", func(t *testing.T, dir string, m *Model) {
			path := filepath.Join(dir, weightsFile)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-100); err != nil {
				t.Fatal(err)
			}
		}, []string{weightsFile, "model.layers.1.self_attn.v_proj.weight", "out of range", "truncated"}, LoadOptions{}},
		{"header larger than file", "llama", func(t *testing.T, dir string, m *Model) {
			path := filepath.Join(dir, weightsFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint64(b, uint64(len(b)))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{weightsFile, "larger than the file"}, LoadOptions{}},
		{"missing tensor", "llama", func(t *testing.T, dir string, m *Model) {
			ts := outs(m)
			for i, o := range ts {
				if o.Name == qName {
					ts = append(ts[:i], ts[i+1:]...)
					break
				}
			}
			rewriteWeights(t, dir, ts)
		}, []string{weightsFile, qName, "missing"}, LoadOptions{}},
		{"wrong shape", "llama", func(t *testing.T, dir string, m *Model) {
			ts := outs(m)
			for i := range ts {
				if ts[i].Name == qName {
					ts[i].Shape = []int{ts[i].Shape[0] / 2, ts[i].Shape[1] * 2}
				}
			}
			rewriteWeights(t, dir, ts)
		}, []string{weightsFile, qName, "shape [12 48]", "implies [24 24]"}, LoadOptions{}},
		{"config disagrees", "gpt2", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"n_inner": 40`, `"n_inner": 41`)
		}, []string{weightsFile, "transformer.h.0.mlp.c_fc.bias", "shape [40]", "implies [41]"}, LoadOptions{}},
		{"unexpected tensor", "llama", func(t *testing.T, dir string, m *Model) {
			rewriteWeights(t, dir, append(outs(m), stOut{Name: "model.layers.2.mlp.up_proj.weight", DType: F32, Shape: []int{2}, Data: []float32{1, 2}}))
		}, []string{weightsFile, "model.layers.2.mlp.up_proj.weight", "unexpected"}, LoadOptions{}},
		{"NaN when checking", "gpt2", func(t *testing.T, dir string, m *Model) {
			m.Param("transformer.h.1.attn.c_proj.weight")[5] = float32(math.NaN())
			rewriteWeights(t, dir, outs(m))
		}, []string{weightsFile, "transformer.h.1.attn.c_proj.weight", "element 5", "NaN"}, LoadOptions{CheckFinite: true}},
		{"tied head differs", "llama", func(t *testing.T, dir string, m *Model) {
			emb := m.Layout.Tensors[0]
			head := append([]float32(nil), emb.Of(m.W)...)
			head[0]++
			rewriteWeights(t, dir, append(outs(m), stOut{Name: "lm_head.weight", DType: F32, Shape: emb.Shape, Data: head}))
		}, []string{weightsFile, "lm_head.weight", "differs"}, LoadOptions{}},
		{"unsupported model_type", "llama", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"model_type": "llama"`, `"model_type": "t5"`)
		}, []string{configFile, `"model_type" = "t5"`}, LoadOptions{}},
		{"unsupported architectures", "llama", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"LlamaForCausalLM"`, `"LlamaForSequenceClassification"`)
		}, []string{configFile, `"architectures"`, "LlamaForSequenceClassification"}, LoadOptions{}},
		{"rope scaling", "llama", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"rope_theta"`, `"rope_scaling": {"type": "ntk", "factor": 2.0}, "rope_theta"`)
		}, []string{configFile, `field "rope_scaling": field "type" = "ntk": unsupported RoPE scaling`}, LoadOptions{}},
		{"activation", "gpt2", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"activation_function": "gelu"`, `"activation_function": "relu"`)
		}, []string{configFile, `"activation_function" = "relu"`}, LoadOptions{}},
		{"wrong type", "llama", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"hidden_size": 24`, `"hidden_size": "24"`)
		}, []string{configFile, `"hidden_size" = "24"`, "integer"}, LoadOptions{}},
		{"missing field", "gpt2", func(t *testing.T, dir string, m *Model) {
			editConfig(t, dir, `"n_embd": 24,`, ``)
		}, []string{configFile, `"n_embd" is missing`}, LoadOptions{}},
		{"no weights", "llama", func(t *testing.T, dir string, m *Model) {
			if err := os.Remove(filepath.Join(dir, weightsFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{"no model.safetensors or model.safetensors.index.json"}, LoadOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, m := savedTiny(t, c.cfg)
			c.mutate(t, dir, m)
			_, err := Load(dir, c.opts)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if _, oerr := Open(t.Context(), dir, c.opts); oerr == nil || oerr.Error() != err.Error() {
				t.Errorf("Open: %v\nLoad: %v", oerr, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// editConfig replaces old with new in dir's config.json.
func editConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, configFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "\n", " ")
	s = strings.Join(strings.Fields(s), " ")
	if !strings.Contains(s, old) {
		t.Fatalf("config.json has no %q: %s", old, s)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(s, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Without CheckFinite a NaN weight loads (the caller asked not to check).
func TestLoadKeepsNaNUnlessChecking(t *testing.T) {
	dir, m := savedTiny(t, "gpt2")
	m.W[3] = float32(math.Inf(1))
	rewriteWeights(t, dir, outs(m))
	got, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(float64(got.W[3]), 1) {
		t.Fatalf("weight 3 is %g, want +Inf", got.W[3])
	}
}

// Sharded checkpoints: the index must name plain files in the directory,
// and every shard must hold exactly the tensors the index assigns to it.
func TestLoadRejectsBadShards(t *testing.T) {
	src := filepath.Join("testdata", "goldens", "qwen2-f16")
	const shard1, shard2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
	const moved = "model.layers.1.mlp.up_proj.weight" // in shard 2
	cases := []struct {
		name      string
		edit      func(map[string]string)
		want      []string
		dropShard bool
	}{
		{"path traversal", func(w map[string]string) { w[moved] = "../" + shard2 }, []string{indexFile, moved, "must be a file name"}, false},
		{"wrong shard", func(w map[string]string) { w[moved] = shard1 }, []string{shard2, moved, "assigns it to"}, false},
		{"missing shard", nil, []string{shard2, "no such file"}, true},
		{"tensor not in the file", func(w map[string]string) { w["model.layers.9.x"] = shard1 }, []string{shard1, "model.layers.9.x", "not in the file"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{configFile, indexFile, shard1, shard2} {
				if c.dropShard && f == shard2 {
					continue
				}
				b, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				if f == indexFile && c.edit != nil {
					var idx struct {
						WeightMap map[string]string `json:"weight_map"`
					}
					if err := json.Unmarshal(b, &idx); err != nil {
						t.Fatal(err)
					}
					c.edit(idx.WeightMap)
					if b, err = json.Marshal(idx); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir, LoadOptions{})
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
