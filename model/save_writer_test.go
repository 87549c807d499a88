package model

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shuffledWrite saves m through a Writer, giving its tensors in a random
// order, a few at a time.
func shuffledWrite(t *testing.T, m *Model, dir string, opts SaveOptions, seed uint64) {
	t.Helper()
	ts := append([]TensorInfo(nil), m.Layout.Tensors...)
	rng := rand.New(rand.NewPCG(seed, 1))
	rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	w, err := m.NewWriter(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for len(ts) > 0 {
		k := min(len(ts), 1+rng.IntN(3))
		if err := w.Write(ts[:k]...); err != nil {
			t.Fatal(err)
		}
		ts = ts[k:]
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A Writer given the tensors in any order writes the bytes Save writes,
// for every architecture (GPT-2's transposed Conv1D weights included), a
// fused checkpoint (Phi-3) and every dtype; and Save's model.safetensors is
// what the sequential writer (writeSafetensors) makes of the same tensors.
func TestWriterShuffledIsSave(t *testing.T) {
	models := map[string]*Model{}
	for name, cfg := range tinyConfigs() {
		m := randomModel(t, cfg, 11)
		m.TokenizerJSON = []byte(`{"model":{"type":"BPE"}}`)
		models[name] = m
	}
	phi, err := Load(filepath.Join("testdata", "goldens", "phi4-mini-bf16"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	models["phi3 (fused)"] = phi
	for name, m := range models {
		for i, dt := range []DType{"", F32, F16, BF16} {
			root := t.TempDir()
			a, b := filepath.Join(root, "save"), filepath.Join(root, "writer")
			opts := SaveOptions{DType: dt}
			if err := m.Save(a, opts); err != nil {
				t.Fatal(err)
			}
			shuffledWrite(t, m, b, opts, uint64(i))
			assertSameDirs(t, a, b)
			if fused(m) {
				continue // writeSafetensors takes the fused tensors whole: TestPhi3FusedTensorsSplitAndFuse
			}
			var seq bytes.Buffer
			ts := outs(m)
			for k := range ts {
				if dt != "" {
					ts[k].DType = dt
				}
			}
			if err := writeSafetensors(&seq, ts); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(a, weightsFile))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, seq.Bytes()) {
				t.Errorf("%s %q: Save's %s differs from the sequential writer's", name, dt, weightsFile)
			}
		}
	}
}

// fused reports whether m's checkpoint fuses some of its tensors.
func fused(m *Model) bool {
	for _, t := range m.Layout.Tensors {
		if t.Stored != "" {
			return true
		}
	}
	return false
}

// Commit names the first tensor never written and removes the temporary
// directory; the directory it would have replaced is left as it was.
// Abort leaves nothing either; a tensor given twice, or not in the
// layout, is refused by name.
func TestWriterErrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	m := randomModel(t, tinyConfigs()["llama"], 3)
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	m2 := randomModel(t, tinyConfigs()["llama"], 4)
	ts := m2.Layout.Tensors
	missing := ts[2]

	w, err := m2.NewWriter(dir, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ts[:2]...); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ts[1]); err == nil || !strings.Contains(err.Error(), ts[1].Name+`" written twice`) {
		t.Errorf("a tensor given twice: %v", err)
	}
	bogus := ts[3]
	bogus.Name = "model.layers.99.mlp.up_proj.weight"
	if err := w.Write(bogus); err == nil || !strings.Contains(err.Error(), bogus.Name) {
		t.Errorf("a tensor not in the layout: %v", err)
	}
	if err := w.Write(ts[3:]...); err != nil {
		t.Fatal(err)
	}
	err = w.Commit()
	if err == nil || !strings.Contains(err.Error(), `tensor "`+missing.Name+`" was never written`) || !strings.Contains(err.Error(), dir) {
		t.Errorf("commit without %s: %v", missing.Name, err)
	}
	if err := w.Write(missing); err == nil {
		t.Error("write after a failed commit succeeded")
	}
	if l := leftovers(t, root, "out"); len(l) != 0 {
		t.Errorf("left behind after the failed commit: %v", l)
	}

	w, err = m2.NewWriter(dir, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ts...); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second abort: %v", err)
	}
	if err := w.Commit(); err == nil {
		t.Error("commit after abort succeeded")
	}
	if l := leftovers(t, root, "out"); len(l) != 0 {
		t.Errorf("left behind after abort: %v", l)
	}
	after := dirFiles(t, dir)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed", name)
		}
	}
}

// Commit checks the Guard again: a directory that appeared at the target
// while the tensors were written, and that lopper did not save, is not
// replaced.
func TestWriterCommitChecksGuardAgain(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	m := randomModel(t, tinyConfigs()["llama"], 3)
	w, err := m.NewWriter(dir, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(m.Layout.Tensors...); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err == nil || !strings.Contains(err.Error(), "refusing to write") {
		t.Fatalf("commit over a foreign directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("notes.txt: %q %v", b, err)
	}
	if l := leftovers(t, root, "out"); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A Writer removes only its own temporary directory: a user's directory at
// the target is refused before anything is written, and Abort leaves the
// target (which appeared meanwhile), the user's files beside it and another
// live writer's temporary for the same target as they were.
func TestWriterRemovesOnlyItsOwn(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	m := randomModel(t, tinyConfigs()["llama"], 3)
	other, err := m.NewWriter(dir, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Abort()
	w, err := m.NewWriter(dir, SaveOptions{}) // clears stale temporaries: not other's
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other.tmp.Path); err != nil {
		t.Fatalf("a second writer removed the first one's live temporary: %v", err)
	}
	mine := []string{filepath.Join(dir, "notes.txt"), filepath.Join(root, "out.bak")}
	for _, p := range mine {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(mine, other.tmp.Path) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Abort removed %s: %v", p, err)
		}
	}
	if _, err := os.Stat(w.tmp.Path); err == nil {
		t.Errorf("Abort left its temporary %s", w.tmp.Path)
	}
	if _, err := m.NewWriter(dir, SaveOptions{}); err == nil || !strings.Contains(err.Error(), "refusing to write") {
		t.Errorf("a writer over the user's directory: %v", err)
	}
	if _, err := os.Stat(mine[0]); err != nil {
		t.Errorf("the refused writer removed %s: %v", mine[0], err)
	}
}
