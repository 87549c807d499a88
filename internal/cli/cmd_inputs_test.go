package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// noTokenizerModel saves the shared tiny Llama without its tokenizer.json.
func noTokenizerModel(t *testing.T) string {
	t.Helper()
	m, err := model.Load(sharedtest.ModelDir(t, "tiny-llama"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.TokenizerJSON = nil
	dir := filepath.Join(t.TempDir(), "notok")
	if err := m.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A model without tokenizer.json: what needs one names the directory and
// the file; a magnitude prune, which needs none, warns that its output
// will have none either.
func TestMissingTokenizer(t *testing.T) {
	dir := noTokenizerModel(t)
	text := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	want := "cannot tokenize " + text + ": " + dir + " has no tokenizer.json"
	if code, _, stderr := runEvalCLI("--model", dir, "--text", text); code != exitFailed || !strings.Contains(stderr, want) {
		t.Errorf("eval: exit %d, stderr %q; want %q", code, stderr, want)
	}
	out := filepath.Join(t.TempDir(), "p")
	if code, _, stderr := runPruneCLI("--model", dir, "--out", out, "--method", "wanda", "--calib", text); code != exitFailed || !strings.Contains(stderr, want) {
		t.Errorf("prune --calib: exit %d, stderr %q; want %q", code, stderr, want)
	}
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"prune", "--model", dir, "--out", out, "--method", "magnitude"}, &stdout, &stderr)
	if log := stderr.String(); code != exitOK || !strings.Contains(log, "the model has no tokenizer.json: the pruned model will have none either") ||
		!strings.Contains(log, "out="+out) {
		t.Errorf("magnitude prune: exit %d, log %q", code, log)
	}
}
