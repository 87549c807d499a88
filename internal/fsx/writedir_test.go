package fsx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// WriteDirNew makes the directory from what fill wrote, never replaces
// one, and leaves nothing behind when fill fails.
func TestWriteDirNew(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "obj")
	boom := errors.New("boom")
	if err := WriteDirNew(dst, func(tmp string) error {
		mustWrite(t, filepath.Join(tmp, "a"), "half")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed fill: %v", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("a failed fill left %v", entries)
	}
	fill := func(data string) func(string) error {
		return func(tmp string) error {
			if b, err := os.ReadFile(filepath.Join(dst, "sub", "a")); err == nil && string(b) == data {
				t.Error("the directory is visible while it is filled")
			}
			mustWrite(t, filepath.Join(tmp, "sub", "a"), data)
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteDirNew(dst, fill("first")); err != nil {
		t.Fatal(err)
	}
	if err := WriteDirNew(dst, fill("second")); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second write: %v, want os.ErrExist", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "sub", "a")); string(b) != "first" {
		t.Fatalf("contents %q, want first", b)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Fatalf("left behind: %v", entries)
	}
}
