package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"lopper/eval"
	"lopper/internal/synth"
	"lopper/model"
)

// committed is the repository's encoder quickstart (tests run in the
// package directory).
var committed = filepath.Join("..", "..", "quickstart", "bert")

// The committed data are exactly what the generator writes with its
// default settings.
func TestCommittedDataAreGenerated(t *testing.T) {
	_, files, err := reviews(defaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(committed, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s differs from the generator's output: run go run ./tools/mkbertquick", f.name)
		}
	}
}

// The committed model is a Hugging Face BertForSequenceClassification of
// the generator's shape, made with its current settings on the committed
// data with its tokenizer, and lopper's evaluation of dev.tsv still gives
// exactly the accuracy lopper.json records (at or above the bar).
func TestCommittedModel(t *testing.T) {
	m, err := model.Load(filepath.Join(committed, modelDir), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	var meta metadata
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatalf("lopper.json metadata: %v", err)
	}
	s := defaultSettings()
	if !reflect.DeepEqual(meta.Settings, s) {
		t.Errorf("the model was made with settings %+v, the generator's are %+v: regenerate it", meta.Settings, s)
	}
	for _, name := range []string{trainFile, devFile} {
		data, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if meta.Data[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("the model was trained and measured on another %s", name)
		}
	}
	tok, err := synth.ReviewTokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.TokenizerJSON, tok) {
		t.Error("tokenizer.json is not the generator's")
	}
	c, a := m.Config, s.Arch
	if err := c.HFCompatible(); err != nil {
		t.Errorf("not loadable by Hugging Face: %v", err)
	}
	if c.Arch != model.BERT || c.ModelType != "bert" || c.Hidden != a.Hidden || c.MaxPos != a.Positions || c.NumLayers() != a.Layers ||
		c.Layers[0] != (model.LayerDims{Heads: a.Heads, KVHeads: a.Heads, Intermediate: a.Intermediate}) ||
		!reflect.DeepEqual(c.Labels, synth.ReviewLabels) || c.Problem != model.SingleLabel {
		t.Errorf("config %+v is not the generator's %+v", c, a)
	}
	r, err := eval.ClassifyModel(context.Background(), m, filepath.Join(committed, devFile), eval.ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *r.Accuracy != meta.Result.Accuracy || *r.Correct != meta.Result.Correct || r.Examples != meta.Result.Examples || *r.Accuracy < s.MinAcc {
		t.Errorf("dev accuracy %.4f (%d of %d); lopper.json says %.4f (%d of %d), the bar is %g",
			*r.Accuracy, *r.Correct, r.Examples, meta.Result.Accuracy, meta.Result.Correct, meta.Result.Examples, s.MinAcc)
	}
	if fi, err := os.Stat(filepath.Join(committed, modelDir, "model.safetensors")); err != nil || fi.Size() > 1<<20 {
		t.Errorf("model.safetensors: %v, %d bytes (want a small model)", err, fi.Size())
	}
}
