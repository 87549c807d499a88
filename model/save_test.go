package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// Saving over an existing model directory replaces it whole (stale files
// go) and leaves no temporary directories behind.
func TestSaveReplacesExistingDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stale.bin"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := randomModel(t, tinyConfigs()["qwen2"], 5)
	if err := m.Save(dir, SaveOptions{DType: BF16}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.bin")); !os.IsNotExist(err) {
		t.Errorf("stale file survived the replace: %v", err)
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
		{file, SaveOptions{}, "not a directory"},
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
