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
	"slices"
	"strings"
	"testing"

	"lopper/eval"
	"lopper/internal/synth"
	"lopper/model"
)

// committedBERT is the repository's encoder quickstart.
var committedBERT = filepath.Join(committed, "bert")

// The committed data are exactly what the generator writes with its
// default settings.
func TestCommittedBERTDataAreGenerated(t *testing.T) {
	_, files, err := reviews(defaultBERTSettings())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(committedBERT, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s differs from the generator's output: run go run ./tools/mkquickstart -bert", f.name)
		}
	}
}

// The committed model is a Hugging Face BertForSequenceClassification of
// the generator's shape, made with its current settings on the committed
// data with its tokenizer, and lopper's evaluation of dev.tsv still gives
// exactly the accuracy lopper.json records (at or above the bar).
func TestCommittedBERTModel(t *testing.T) {
	m, err := model.Load(filepath.Join(committedBERT, modelDir), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	var meta metadata[bertSettings, bertResult]
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatalf("lopper.json metadata: %v", err)
	}
	s := defaultBERTSettings()
	if !reflect.DeepEqual(meta.Settings, s) {
		t.Errorf("the model was made with settings %+v, the generator's are %+v: regenerate it", meta.Settings, s)
	}
	for _, name := range []string{bertTrainFile, bertDevFile} {
		data, err := os.ReadFile(filepath.Join(committedBERT, name))
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
	r, err := eval.ClassifyModel(context.Background(), m, filepath.Join(committedBERT, bertDevFile), eval.ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *r.Accuracy != meta.Result.Accuracy || *r.Correct != meta.Result.Correct || r.Examples != meta.Result.Examples || *r.Accuracy < s.MinAcc {
		t.Errorf("dev accuracy %.4f (%d of %d); lopper.json says %.4f (%d of %d), the bar is %g",
			*r.Accuracy, *r.Correct, r.Examples, meta.Result.Accuracy, meta.Result.Correct, meta.Result.Examples, s.MinAcc)
	}
	if fi, err := os.Stat(filepath.Join(committedBERT, modelDir, "model.safetensors")); err != nil || fi.Size() > 1<<20 {
		t.Errorf("model.safetensors: %v, %d bytes (want a small model)", err, fi.Size())
	}
}

// tinyBERT are settings that train in a fraction of a second: too few steps
// to learn the task, so no bar.
func tinyBERT() bertSettings {
	s := defaultBERTSettings()
	s.Data = bertDataSpec{TrainLines: 200, EvalLines: 40}
	s.Train.Steps, s.Train.BatchSize, s.Train.WarmupSteps = 5, 8, 1
	s.MinAcc = 0
	return s
}

// The encoder quickstart writes its reviews and a model whose lopper.json
// records the settings and the dev result; the same settings give the same
// model files.
func TestGenerateBERT(t *testing.T) {
	s := tinyBERT()
	m, log := generated(t, bertJobOf(t, s))
	var meta metadata[bertSettings, bertResult]
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta.Settings, s) || meta.Result.Examples != 40 || len(meta.Data) != 2 {
		t.Errorf("lopper.json metadata %+v", meta)
	}
	if !strings.Contains(log, "dev: accuracy") {
		t.Errorf("log %q does not report the dev accuracy", log)
	}
	again, _ := generated(t, bertJobOf(t, s))
	if !slices.Equal(m.W, again.W) || !bytes.Equal(m.Meta, again.Meta) || !bytes.Equal(m.TokenizerJSON, again.TokenizerJSON) {
		t.Error("two runs with the same settings made different models")
	}
}

// bertJobOf is the encoder job of settings s.
func bertJobOf(t *testing.T, s bertSettings) job {
	t.Helper()
	j, err := bertJob(s)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
