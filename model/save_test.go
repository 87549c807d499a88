package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/fsx"
)

// leftovers lists the entries of dir other than the names given.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.Contains(strings.Join(keep, "\x00"), e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// Saving over a model directory lopper saved replaces it whole and leaves
// no temporary directories behind.
func TestSaveReplacesItsOwnDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	first := randomModel(t, tinyConfigs()["gpt2"], 4)
	if err := first.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	m := randomModel(t, tinyConfigs()["qwen2"], 5)
	if err := m.Save(dir, SaveOptions{DType: BF16}); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, parent, "out"); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v, want 0755", fi.Mode().Perm())
	}
	m2, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Layout.Tensors[0].DType != BF16 || m2.Config.ModelType != "qwen2" {
		t.Errorf("reloaded %s %s", m2.Config.ModelType, m2.Layout.Tensors[0].DType)
	}
}

// A directory holding anything lopper's save did not write is never
// replaced: not a folder of notes, not a model someone else saved, not a
// lopper model to which a file was added. Guard.Force replaces it.
func TestSaveRefusesForeignDirectory(t *testing.T) {
	parent := t.TempDir()
	m := randomModel(t, tinyConfigs()["qwen2"], 5)
	notes := filepath.Join(parent, "mystuff")
	hf := filepath.Join(parent, "hf")
	added := filepath.Join(parent, "added")
	for _, dir := range []string{notes, hf, added} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(notes, "notes.txt"), "x")
	write(filepath.Join(hf, "config.json"), "{}")
	write(filepath.Join(hf, "model.safetensors"), "x")
	if err := m.Save(added, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(added, "README.md"), "mine")
	cases := []struct{ dir, want string }{
		{notes, "it holds notes.txt, which lopper's save did not write"},
		{hf, "it has no lopper.json"},
		{added, "it holds README.md"},
	}
	for _, c := range cases {
		err := m.Save(c.dir, SaveOptions{})
		var re *fsx.RefusedError
		if !errors.As(err, &re) || !re.Forcible || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("save %s: %v, want a forcible refusal saying %q", c.dir, err, c.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(notes, "notes.txt")); err != nil || string(b) != "x" {
		t.Fatalf("notes.txt: %q %v", b, err)
	}
	if l := leftovers(t, parent, "mystuff", "hf", "added"); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	if err := m.Save(notes, SaveOptions{Guard: fsx.Guard{Force: true}}); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(notes, "notes.txt")); !os.IsNotExist(err) {
		t.Errorf("forced save kept notes.txt: %v", err)
	}
}

// The working directory and the directories containing it are never
// replaced, forced or not.
func TestSaveNeverReplacesWorkingDirectory(t *testing.T) {
	parent := t.TempDir()
	work := filepath.Join(parent, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	m := randomModel(t, tinyConfigs()["gpt2"], 5)
	for _, dir := range []string{".", "..", "../work", work} {
		err := m.Save(dir, SaveOptions{Guard: fsx.Guard{Force: true}})
		if err == nil {
			t.Fatalf("save %s succeeded", dir)
		}
	}
	if _, err := os.Stat(work); err != nil {
		t.Fatal(err)
	}
}

// A failed save changes nothing and leaves nothing.
func TestSaveFailuresLeaveNothing(t *testing.T) {
	parent := t.TempDir()
	m := randomModel(t, tinyConfigs()["gpt2"], 5)
	file := filepath.Join(parent, "afile")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir  string
		opts SaveOptions
		want string
	}{
		{file, SaveOptions{}, "it is a file"},
		{filepath.Join(parent, "missing", "out"), SaveOptions{}, "no such file"},
		{filepath.Join(parent, "out"), SaveOptions{Metadata: json.RawMessage(`[1]`)}, "metadata must be a JSON object"},
		{filepath.Join(parent, "out"), SaveOptions{DType: "F64"}, `cannot write dtype "F64"`},
		{".", SaveOptions{}, "need a directory name"},
		{"/", SaveOptions{}, "need a directory name"},
	}
	for _, c := range cases {
		err := m.Save(c.dir, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("save %s: error %v, want %q", c.dir, err, c.want)
		}
	}
	if l := leftovers(t, parent, "afile"); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("existing file changed: %q %v", b, err)
	}
}

// Metadata given at save time comes back as Meta and is kept by later saves.
func TestSaveMetadataRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	m := randomModel(t, tinyConfigs()["llama"], 5)
	if err := m.Save(dir, SaveOptions{Metadata: json.RawMessage(`{"method": "wanda", "sparsity": 0.5}`)}); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(m2.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if meta["method"] != "wanda" || meta["sparsity"] != 0.5 {
		t.Errorf("metadata %s", m2.Meta)
	}
}

// SavedSize is exactly what Save writes, for every dtype and architecture.
func TestSavedSizeMatchesSave(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		m := randomModel(t, cfg, 3)
		m.TokenizerJSON = []byte(`{"model":{"type":"BPE"}}`)
		for _, dt := range []DType{"", F32, F16, BF16} {
			want, err := m.SavedSize(SaveOptions{DType: dt})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "m")
			if err := m.Save(dir, SaveOptions{DType: dt}); err != nil {
				t.Fatal(err)
			}
			var got int64
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				info, err := e.Info()
				if err != nil {
					t.Fatal(err)
				}
				got += info.Size()
			}
			if got != want {
				t.Errorf("%s %q: SavedSize %d, Save wrote %d bytes", name, dt, want, got)
			}
		}
	}
}
