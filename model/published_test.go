package model

import (
	"path/filepath"
	"strings"
	"testing"
)

// lopper inspect on a directory with only the config.json of a released
// checkpoint gives its exact parameter count (testdata/configs/SOURCES.md
// says where each count comes from).
func TestPublishedConfigs(t *testing.T) {
	cases := []struct {
		dir       string
		params    int
		modelType string
		rope      string
		untied    bool
		dtype     DType // BF16 when empty
	}{
		{dir: "Llama-3.2-1B", params: 1_235_814_400, modelType: "llama", rope: "llama3 (factor 32)"},
		{dir: "Qwen3-0.6B", params: 596_049_920, modelType: "qwen3", rope: "default"},
		{dir: "SmolLM2-135M", params: 134_515_008, modelType: "llama", rope: "default"},
		{dir: "Phi-3-mini-4k-instruct", params: 3_821_079_552, modelType: "phi3", rope: "default", untied: true},
		{dir: "gemma-2-2b", params: 2_614_341_888, modelType: "gemma2", rope: "default", dtype: F32},
		{dir: "gemma-3-1b-pt", params: 999_885_952, modelType: "gemma3_text", rope: "default"},
		{dir: "SmolLM3-3B", params: 3_075_098_624, modelType: "smollm3", rope: "default"},
		{dir: "OLMo-2-0425-1B", params: 1_484_916_736, modelType: "olmo2", rope: "default", untied: true, dtype: F32},
	}
	for _, tc := range cases {
		if tc.dtype == "" {
			tc.dtype = BF16
		}
		t.Run(tc.dir, func(t *testing.T) {
			s, err := Inspect(filepath.Join("testdata", "configs", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if !s.ConfigOnly || s.Parameters != tc.params || s.ModelType != tc.modelType || s.RoPE != tc.rope || s.DType != string(tc.dtype) || s.TiedEmbeddings == tc.untied {
				t.Errorf("summary: config only %v, %d parameters, %s, RoPE %q, dtype %s, tied %v; want %d parameters, %s, RoPE %q",
					s.ConfigOnly, s.Parameters, s.ModelType, s.RoPE, s.DType, s.TiedEmbeddings, tc.params, tc.modelType, tc.rope)
			}
			sum := 0
			for _, ts := range s.Tensors {
				sum += ts.Parameters
				if ts.NonZero != 0 || ts.Sparsity != 0 || ts.DType != tc.dtype {
					t.Errorf("%s: nonzero %d sparsity %g dtype %s without weights", ts.Name, ts.NonZero, ts.Sparsity, ts.DType)
				}
			}
			if sum != tc.params || s.Sparsity != 0 || s.NonZero != 0 {
				t.Errorf("tensors sum to %d; sparsity %g nonzero %d", sum, s.Sparsity, s.NonZero)
			}
		})
	}
}

// The parameter count of a config equals that of the model it builds, and
// a directory with weights is inspected from them.
func TestConfigNumParams(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		n, err := cfg.NumParams()
		if err != nil {
			t.Fatal(err)
		}
		m := randomModel(t, cfg, 1)
		if n != m.NumParams() {
			t.Errorf("%s: Config.NumParams %d, model %d", name, n, m.NumParams())
		}
	}
	s, err := Inspect(filepath.Join("testdata", "goldens", "qwen3-bf16"))
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigOnly || s.DType != "BF16" || s.NonZero != s.Parameters {
		t.Errorf("inspect of a checkpoint: config only %v dtype %s nonzero %d of %d", s.ConfigOnly, s.DType, s.NonZero, s.Parameters)
	}
	if _, err := Inspect(t.TempDir()); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty directory: %v", err)
	}
}
