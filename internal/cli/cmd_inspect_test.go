package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"lopper/model"
)

// lopper inspect reports dims, dtype, counts and per-tensor sparsity of a
// model on disk, as text and as JSON.
func TestInspect(t *testing.T) {
	m, err := model.Load(repoPath("model", "testdata", "goldens", "llama-bf16"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const name = "model.layers.1.mlp.down_proj.weight"
	w := m.Param(name)
	for i := 0; i < len(w); i += 4 { // a quarter of the tensor, all of whose weights are non-zero
		if w[i] == 0 {
			t.Fatalf("%s[%d] is already zero", name, i)
		}
		w[i] = 0
	}
	dir := filepath.Join(t.TempDir(), "pruned")
	if err := m.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := runMain(context.Background(), []string{"inspect", dir, "--json"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var s model.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Architecture != model.Llama || s.NumLayers != 2 || s.DType != "BF16" || s.Parameters != m.NumParams() || s.HeadDim != 6 {
		t.Errorf("summary %+v", s)
	}
	if len(s.Layers) != 2 || s.Layers[0].Heads != 4 || s.Layers[0].KVHeads != 1 || s.Layers[1].Intermediate != 24 {
		t.Errorf("layers %+v", s.Layers)
	}
	zeros := (len(w) + 3) / 4
	for _, ts := range s.Tensors {
		want := 0.0
		if ts.Name == name {
			want = float64(zeros) / float64(len(w))
		}
		if ts.Sparsity != want {
			t.Errorf("%s: sparsity %g, want %g", ts.Name, ts.Sparsity, want)
		}
	}
	if s.Parameters-s.NonZero != zeros {
		t.Errorf("%d zeros overall, want %d", s.Parameters-s.NonZero, zeros)
	}

	out.Reset()
	if code := runMain(context.Background(), []string{"inspect", dir}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"llama (model_type llama), 2 layers", "dtype BF16, 5816 parameters", name, "25.00%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestInspectErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain(context.Background(), []string{"inspect"}, &out, &errOut); code != exitUsage {
		t.Errorf("no argument: exit %d", code)
	}
	errOut.Reset()
	if code := runMain(context.Background(), []string{"inspect", t.TempDir()}, &out, &errOut); code != exitFailed || !strings.Contains(errOut.String(), "config.json") {
		t.Errorf("empty directory: exit %d, %s", code, errOut.String())
	}
}

// A directory with only a released checkpoint's config.json is described
// from the config: architecture, RoPE and the exact parameter count.
func TestInspectConfigOnly(t *testing.T) {
	var out, errOut bytes.Buffer
	dir := repoPath("model", "testdata", "configs", "Llama-3.2-1B")
	if code := runMain(context.Background(), []string{"inspect", dir}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"llama (model_type llama), 16 layers, hidden 2048, head dim 64", "RoPE llama3 (factor 32), rotary dim 64",
		"config.json only (no weights): dtype BF16, 1235814400 parameters"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
}

// An encoder classifier is described with its labels and problem type.
func TestInspectEncoder(t *testing.T) {
	var out, errOut bytes.Buffer
	dir := repoPath("model", "testdata", "goldens", "roberta-f32")
	if code := runMain(context.Background(), []string{"inspect", dir}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"bert (model_type roberta), 2 layers, hidden 16, head dim 4",
		"sequence classifier: 3 labels (negative, neutral, positive), single_label_classification", "roberta.encoder.layer.1.attention.self.query.weight"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := runMain(context.Background(), []string{"inspect", dir, "--json"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var s model.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Architecture != model.BERT || len(s.Labels) != 3 || s.ProblemType != "single_label_classification" {
		t.Errorf("summary %+v", s)
	}
}
