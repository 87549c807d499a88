package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
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

func TestWriteFileAtomicReplaces(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.json")
	for _, s := range []string{"first", "second"} {
		if err := pipeline.WriteFileAtomic(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(f)
	if err != nil || string(b) != "second" {
		t.Errorf("content %q %v", b, err)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "x"), nil, 0o644); err == nil {
		t.Errorf("write into a missing directory succeeded")
	}
}
