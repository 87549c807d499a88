package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// nonFiniteModel saves the shared tiny Llama with a NaN and an Inf in the
// named tensor, and returns its directory.
func nonFiniteModel(t *testing.T, name string) string {
	t.Helper()
	m, err := model.Load(sharedtest.ModelDir(t, "tiny-llama"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := m.Param(name)
	w[3], w[40] = float32(math.NaN()), float32(math.Inf(1))
	dir := filepath.Join(t.TempDir(), "nan")
	if err := m.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lopper eval refuses non-finite weights at load, naming the file and the
// tensor, not the text.
func TestEvalCLINonFinite(t *testing.T) {
	const name = "model.layers.0.self_attn.k_proj.weight"
	dir := nonFiniteModel(t, name)
	text := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	code, _, stderr := runEvalCLI("--model", dir, "--text", text, "--limit", "2")
	want := filepath.Join(dir, "model.safetensors") + `: tensor "` + name + `": element 3`
	if code != exitFailed || !strings.Contains(stderr, want) || strings.Contains(stderr, text) {
		t.Errorf("exit %d, stderr %q; want %d and %q, not the text file", code, stderr, exitFailed, want)
	}
}

// lopper inspect shows a model with non-finite weights and says how many
// and where, as text and as JSON.
func TestInspectNonFinite(t *testing.T) {
	const name = "model.layers.1.mlp.up_proj.weight"
	dir := nonFiniteModel(t, name)
	var out, errOut bytes.Buffer
	if code := runMain(context.Background(), []string{"inspect", dir}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := "not finite: 2 weights are NaN or ±Inf, in " + name + " (2)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("text output lacks %q:\n%s", want, out.String())
	}
	out.Reset()
	if code := runMain(context.Background(), []string{"inspect", dir, "--json"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var s model.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, ts := range s.Tensors {
		if ts.NonFinite > 0 {
			where = append(where, ts.Name)
		}
	}
	if s.NonFinite != 2 || len(where) != 1 || where[0] != name {
		t.Errorf("nonfinite %d in %v, want 2 in %s", s.NonFinite, where, name)
	}
}

// lopper prune opens the model lazily when its result streams, and checks
// each tensor as pruning or the save first decodes it: a NaN in a target
// or in a tensor only the save reads fails as the resident load (here
// --dry-run's) fails, with its message and exit code, and leaves nothing
// at --out.
func TestPruneCLINonFiniteLazy(t *testing.T) {
	for _, name := range []string{"model.layers.1.mlp.up_proj.weight", "model.norm.weight"} {
		dir := nonFiniteModel(t, name)
		want := filepath.Join(dir, "model.safetensors") + `: tensor "` + name + `": element 3`
		code, _, loadErr := runPruneCLI("--model", dir, "--method", "magnitude", "--dry-run")
		if code != exitFailed || !strings.Contains(loadErr, want) {
			t.Fatalf("%s: --dry-run: exit %d, stderr %q; want %d and %q", name, code, loadErr, exitFailed, want)
		}
		for _, method := range [][]string{{"--method", "magnitude"},
			{"--method", "wanda", "--calib", sharedtest.Path(t, "data", "shakespeare_eval.txt"), "--calib-samples", "2", "--calib-seq-len", "32"}} {
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := runPruneCLI(append([]string{"--model", dir, "--out", out}, method...)...)
			if code != exitFailed || stderr != loadErr {
				t.Errorf("%s, %s: exit %d, stderr %q; want %d and %q", name, method[1], code, stderr, exitFailed, loadErr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s, %s: --out: %v, want it absent", name, method[1], err)
			}
			left, err := os.ReadDir(filepath.Dir(out))
			if err != nil || len(left) != 0 {
				t.Errorf("%s, %s: left beside --out: %v %v", name, method[1], left, err)
			}
		}
	}
}
