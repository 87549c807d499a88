package stages

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// An exported save never replaces a directory that lopper did not save:
// the stage fails naming it, and the user's files stay; a directory that an
// earlier run saved is replaced.
func TestSaveExportNeverReplacesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
stages:
  base: {uses: load, with: {path: ` + filepath.Join(repoRoot(t), "quickstart", "model") + `}}
  save: {uses: save, with: {model: base, export: true, path: out}}
`
	r := parseRecipe(t, dir, src)
	rec, err := runner.Run(context.Background(), r, runner.Options{Jobs: 1, RunDir: filepath.Join(dir, "run1"), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if st := stage(t, rec, "save"); rec.Status == pipeline.RunSucceeded || !strings.Contains(st.Error, "it holds notes.txt, which lopper's save did not write") {
		t.Fatalf("run %s, save: %q", rec.Status, st.Error)
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "mine" {
		t.Fatalf("notes.txt: %q %v", b, err)
	}
	if err := os.Remove(notes); err != nil {
		t.Fatal(err)
	}
	run(t, r) // into the empty directory
	run(t, r) // and again, over its own save
}
