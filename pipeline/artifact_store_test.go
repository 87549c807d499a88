package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

func TestArtifactStore(t *testing.T) {
	reg := registry(pipelinetest.New())
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "a1")
	if err := pipeline.WriteArtifact(ctx, reg, dir, &pipelinetest.Number{V: 0.75}); err != nil {
		t.Fatal(err)
	}
	a, err := pipeline.ReadArtifact(ctx, reg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := a.(*pipelinetest.Number); !ok || n.V != 0.75 {
		t.Errorf("read back %#v", a)
	}
	if err := pipeline.WriteArtifact(ctx, reg, dir, &pipelinetest.Number{V: 1}); err == nil {
		t.Errorf("overwrote an existing artifact")
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("temporary directories left: %v", entries)
	}
	// A corrupted artifact is detected by its digest.
	if err := os.WriteFile(filepath.Join(dir, "value.txt"), []byte("0.5"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.ReadArtifact(ctx, reg, dir); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupted artifact read: %v", err)
	}
	// A truncated one (missing file) is an error too.
	os.Remove(filepath.Join(dir, "value.txt"))
	if _, err := pipeline.ReadArtifact(ctx, reg, dir); err == nil {
		t.Errorf("truncated artifact read")
	}
}

// A stage that needs an input as files asks for it: the artifact is encoded
// once per run, atomically, and every asker gets the same directory, which
// reads back as the same artifact.
func TestArtifactDir(t *testing.T) {
	kit := pipelinetest.New()
	rec := runRecipe(t, context.Background(), kit, `
version: 1
stages:
  src: {uses: emit, with: {value: 0.25}}
  a: {uses: emit, with: {input: src, on_disk: true}}
  b: {uses: emit, with: {input: src, on_disk: true, add: 1}}
`, runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run %s: %s", rec.Status, rec.Error)
	}
	dirOf := func(id string) string {
		det, _ := stage(t, rec, id).Details.(map[string]any)
		d, _ := det["dir"].(string)
		if d == "" {
			t.Fatalf("stage %s reported no dir: %#v", id, stage(t, rec, id).Details)
		}
		return d
	}
	a, b := dirOf("a"), dirOf("b")
	if a != b {
		t.Errorf("two stages asking for one artifact got %s and %s", a, b)
	}
	if rel, err := filepath.Rel(rec.RunDir, a); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("artifact dir %s is not under the run dir %s", a, rec.RunDir)
	}
	got, err := pipeline.ReadArtifact(context.Background(), registry(kit), a)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := got.(*pipelinetest.Number); !ok || n.V != 0.25 {
		t.Errorf("the directory reads back as %#v, want the number 0.25", got)
	}
	if want := stage(t, rec, "src").Artifacts["number"].Digest; got.Digest() != want {
		t.Errorf("digest %s, the stage produced %s", got.Digest(), want)
	}
	entries, err := os.ReadDir(filepath.Dir(a))
	if err != nil || len(entries) != 1 {
		t.Errorf("artifacts dir holds %v (err %v), want exactly one entry", entries, err)
	}
}
