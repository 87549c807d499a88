package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"lopper/internal/sharedtest"
)

// dirFiles reads every file of a directory.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// assertSameDirs fails unless both directories hold the same files with the
// same bytes.
func assertSameDirs(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := dirFiles(t, a), dirFiles(t, b)
	if len(fa) != len(fb) {
		t.Errorf("%s has %d files, %s has %d", a, len(fa), b, len(fb))
	}
	for name, da := range fa {
		db, ok := fb[name]
		if !ok {
			t.Errorf("%s missing from %s", name, b)
			continue
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between saves (%d vs %d bytes)", name, len(da), len(db))
		}
	}
}

// saveLoadSave saves m, loads it back, checks that the weights are the
// same, saves that again and checks that both directories hold the same
// bytes; it returns the first directory and the reloaded model.
func saveLoadSave(t *testing.T, m *Model) (string, *Model) {
	t.Helper()
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	if err := m.Save(a, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(a, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.W {
		if m.W[i] != m2.W[i] {
			t.Fatalf("weight %d changed: %g → %g", i, m.W[i], m2.W[i])
		}
	}
	if err := m2.Save(b, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSameDirs(t, a, b)
	return a, m2
}

// Save → Load → Save is byte-identical for the shared models, and the
// reloaded weights equal the source.
func TestSaveLoadSaveShared(t *testing.T) {
	for _, name := range sharedtest.Models {
		t.Run(name, func(t *testing.T) {
			m, err := Load(sharedtest.ModelDir(t, name), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, m2 := saveLoadSave(t, m)
			if !bytes.Equal(m2.TokenizerJSON, m.TokenizerJSON) {
				t.Error("tokenizer.json not carried over")
			}
		})
	}
}
