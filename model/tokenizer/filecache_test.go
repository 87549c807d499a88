package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The file cache keeps at most its budget of tokens, least recently used
// out first, tokenizes an edited file again, and names the model directory
// and the file when the model has no tokenizer.
func TestFileCache(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "quickstart", "model", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte(strings.Repeat("hello there "+f+" ", 100)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantA, err := tok.EncodeFile(a, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := NewFileCache(4 * int64(len(wantA)+len(wantA)/2)) // room for one of them
	a1, err := c.EncodeFile(data, "m", a, 0)
	if err != nil || !slices.Equal(a1, wantA) {
		t.Fatalf("cached tokens differ (%v)", err)
	}
	if a2, _ := c.EncodeFile(data, "m", a, 0); &a2[0] != &a1[0] {
		t.Error("a second read of a.txt tokenized it again")
	}
	if p, _ := c.EncodeFile(data, "m", a, 10); len(p) != 10 || &p[0] == &a1[0] {
		t.Error("a prefix of a.txt was not tokenized on its own")
	}
	b1, err := c.EncodeFile(data, "m", b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Bytes(), 4*int64(len(b1)+10); got != want {
		t.Errorf("the cache holds %d bytes, want b.txt's and the prefix's %d", got, want)
	}
	if a3, _ := c.EncodeFile(data, "m", a, 0); &a3[0] == &a1[0] {
		t.Error("a.txt was kept past the budget")
	}
	if err := os.WriteFile(b, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(b, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b2, _ := c.EncodeFile(data, "m", b, 0); slices.Equal(b2, b1) {
		t.Error("an edited file was not tokenized again")
	}
	if small := NewFileCache(8); small.Bytes() != 0 {
		t.Error("new cache not empty")
	} else if got, err := small.EncodeFile(data, "m", a, 0); err != nil || !slices.Equal(got, wantA) || small.Bytes() != 0 {
		t.Errorf("over the budget: %v, %d bytes kept", err, small.Bytes())
	}
	if _, err := c.EncodeFile(nil, "models/m", a, 0); err == nil || err.Error() != "cannot tokenize "+a+": models/m has no tokenizer.json" {
		t.Errorf("no tokenizer: %v", err)
	}
}
