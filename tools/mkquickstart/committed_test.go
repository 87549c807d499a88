package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"lopper/eval"
	"lopper/internal/synth"
	"lopper/model"
)

// committed is the repository's quickstart directory (tests run in the
// package directory).
var committed = filepath.Join("..", "..", "quickstart")

// The committed data are exactly what the generator writes with its
// default settings.
func TestCommittedDataAreGenerated(t *testing.T) {
	files, err := dataFiles(defaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(committed, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s differs from the generator's output: run go run ./tools/mkquickstart", f.name)
		}
	}
}

// The committed model was made with the generator's current settings, on
// the committed data, with the generator's tokenizer.
func TestCommittedModelProvenance(t *testing.T) {
	m, err := model.Load(filepath.Join(committed, modelDir), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	var meta metadata[settings, result]
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatalf("lopper.json metadata: %v", err)
	}
	if !reflect.DeepEqual(meta.Settings, defaultSettings()) {
		t.Errorf("the model was made with settings %+v, the generator's are %+v: regenerate it", meta.Settings, defaultSettings())
	}
	for _, name := range []string{trainFile, evalFile, choicesFile} {
		data, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if meta.Data[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("the model was trained and measured on another %s", name)
		}
	}
	tok, err := synth.ByteLevelTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.TokenizerJSON, tok) {
		t.Error("tokenizer.json is not the generator's")
	}
}

// The committed model is a standard Hugging Face Llama of the generator's
// shape, and still scores what lopper.json says on the held-out data.
func TestCommittedModelScores(t *testing.T) {
	m, err := model.Load(filepath.Join(committed, modelDir), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	c, a := m.Config, defaultSettings().Arch
	if err := c.HFCompatible(); err != nil {
		t.Errorf("not loadable by Hugging Face: %v", err)
	}
	if c.Arch != model.Llama || c.ModelType != "llama" || c.Vocab != 256 || !c.TiedEmbeddings || c.Hidden != a.Hidden ||
		c.MaxPos != a.Positions || !c.Uniform() || c.NumLayers() != a.Layers || c.Layers[0] != (model.LayerDims{Heads: a.Heads, KVHeads: a.KVHeads, Intermediate: a.Intermediate}) {
		t.Errorf("config %+v is not the generator's %+v", c, a)
	}
	var meta metadata[settings, result]
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	tasks, err := eval.ReadChoicesJSONL(filepath.Join(committed, choicesFile))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := eval.Choices(context.Background(), m, tasks, eval.ChoiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Acc < defaultSettings().MinAcc || math.Abs(cr.Acc-meta.Result.Acc) > 0.01 {
		t.Errorf("multiple-choice accuracy %.4f; lopper.json says %.4f, the bar is %g", cr.Acc, meta.Result.Acc, defaultSettings().MinAcc)
	}
	if testing.Short() {
		return
	}
	tx, err := eval.TextFile(context.Background(), m, filepath.Join(committed, evalFile), eval.TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tx.Perplexity/meta.Result.Perplexity-1) > 1e-3 {
		t.Errorf("perplexity %.5f; lopper.json says %.5f", tx.Perplexity, meta.Result.Perplexity)
	}
}
