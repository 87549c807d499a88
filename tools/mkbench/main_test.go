package main

import (
	"math"
	"testing"

	"lopper/model"
)

// The shapes have the parameter counts of the models they stand for
// (model.Config.NumParams from config.json alone, no weights built).
func TestShapesParams(t *testing.T) {
	want := map[string]int{
		"tinyllama-1.1b": 1_100_048_384, // TinyLlama-1.1B's model card: 1.1B
		"llama-3.2-1b":   1_235_814_400, // model/testdata/configs/SOURCES.md
		"110m":           109_529_856,
		"25m":            24_877_440,
	}
	for name, js := range shapes {
		c, err := model.ParseConfig([]byte(js))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := c.NumParams(); err != nil || got != want[name] {
			t.Errorf("%s: %d parameters, want %d", name, got, want[name])
		}
	}
}

// A built model saves in BF16 and loads back within BF16's rounding, with
// its byte-level tokenizer.
func TestBuildRoundTrip(t *testing.T) {
	js := `{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
	  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 96,
	  "vocab_size": 300, "max_position_embeddings": 64, "tie_word_embeddings": true}`
	m, err := Build(js, 7)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/m"
	if err := m.Save(dir, model.SaveOptions{Metadata: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range got.Layout.Tensors {
		if ti.DType != model.BF16 {
			t.Fatalf("%s: dtype %s, want BF16", ti.Name, ti.DType)
		}
	}
	again, err := Build(js, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range again.W {
		if d := math.Abs(float64(got.W[i] - v)); d > math.Abs(float64(v))/256 || (v == 1) != (got.W[i] == 1) {
			t.Fatalf("weight %d: loaded %g, built %g", i, got.W[i], v)
		}
	}
	if string(got.TokenizerJSON) != string(m.TokenizerJSON) {
		t.Error("tokenizer.json differs")
	}
}

func TestText(t *testing.T) {
	a, b := Text(5000, 3), Text(5000, 3)
	if len(a) != 5000 || string(a) != string(b) || string(a) == string(Text(5000, 4)) {
		t.Errorf("Text is not 5000 deterministic, seed-dependent bytes")
	}
}
