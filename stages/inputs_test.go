package stages

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// stageErrors runs src (written into dir) and returns each failed stage's
// error by path.
func stageErrors(t *testing.T, dir, src string) map[string]string {
	t.Helper()
	r := parseRecipe(t, dir, src)
	rec, err := runner.Run(context.Background(), r, runner.Options{Jobs: 2, RunDir: t.TempDir(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]string{}
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Error != "" {
			errs[s.Path] = s.Error
		}
	})
	return errs
}

// Stages that read text name what is wrong with it: the model directory
// without a tokenizer, an empty training file, one too short for a
// sequence.
func TestTextInputErrors(t *testing.T) {
	m, err := model.Load(sharedtest.ModelDir(t, "tiny-llama"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m.TokenizerJSON = nil
	notok := filepath.Join(dir, "notok")
	if err := m.Save(notok, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"empty.txt": "", "short.txt": "ROMEO: ", "calib.txt": strings.Repeat("to be or not to be ", 100)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	errs := stageErrors(t, dir, `version: 1
stages:
  base: {uses: load, with: {path: `+sharedtest.ModelDir(t, "tiny-llama")+`}}
  notok: {uses: load, with: {path: notok}}
  calib: {uses: prune, with: {model: notok, method: wanda, sparsity: 0.5, calib: {file: calib.txt, seq_len: 16}}}
  empty: {uses: retrain, with: {model: base, data: empty.txt, steps: 1, seq_len: 16}}
  short: {uses: retrain, with: {model: base, data: short.txt, steps: 1, seq_len: 16}}
`)
	for stage, want := range map[string]string{
		"calib": "calib: cannot tokenize " + filepath.Join(dir, "calib.txt") + ": " + notok + " has no tokenizer.json",
		"empty": "data: " + filepath.Join(dir, "empty.txt") + ": the file is empty: no text to tokenize",
		"short": "data: " + filepath.Join(dir, "short.txt") + " has 7 tokens; a training sequence of 16 needs at least 17",
	} {
		if !strings.Contains(errs[stage], want) {
			t.Errorf("stage %s: error %q, want %q", stage, errs[stage], want)
		}
	}
}
