package tokenizer

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// The shared GPT-2 (ByteLevel with the split regex), Llama 2
// (SentencePiece-style, no pre-tokenizer: the merges decide) and byte
// tokenizers cut before spaces: at every such cut of a text, the tokens of
// the text before it begin the tokens of the whole text. EncodeReader's
// first n tokens are exactly the whole text's, and it reads only part of
// the text for them.
func TestEncodeReaderPrefix(t *testing.T) {
	wiki, err := os.ReadFile(sharedtest.Path(t, "data", "wikitext2", "wiki.test.raw"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(wiki[:300_000]) // CRLF line ends, Unicode, runs of spaces
	for _, rel := range []string{"tokenizers/gpt2/tokenizer.json", "tokenizers/llama2/tokenizer.json", "models/tiny-llama/tokenizer.json"} {
		tok := sharedTokenizer(t, rel)
		if !tok.CutsBeforeSpace() {
			t.Errorf("%s does not cut before spaces", rel)
			continue
		}
		for _, start := range []int{0, 4_000, 150_003} {
			snippet := text[start : start+1500]
			all := tok.Encode(snippet)
			for i := 1; i < len(snippet); i++ {
				if snippet[i] == ' ' && snippet[i-1] > ' ' && snippet[i-1] < 0x7f {
					if p := tok.Encode(snippet[:i]); !slices.Equal(p, all[:min(len(p), len(all))]) {
						t.Fatalf("%s: the tokens of %q do not begin those of %q", rel, snippet[:i], snippet)
					}
				}
			}
		}
		all := tok.Encode(text)
		for _, n := range []int{1, 2, 17, 1000, 20_000, len(all) - 1, len(all), len(all) + 1} {
			r := &countingReader{r: strings.NewReader(text)}
			got, err := tok.EncodeReader(r, n)
			if err != nil {
				t.Fatal(err)
			}
			if want := all[:min(n, len(all))]; !slices.Equal(got, want) {
				t.Errorf("%s: the first %d tokens differ from the whole text's (%d tokens)", rel, n, len(got))
			}
			if n <= 1000 && r.n >= len(text) {
				t.Errorf("%s: %d tokens read all %d bytes", rel, n, r.n)
			}
		}
	}
}

// A merge across a space (here "a" + "▁b"), a multi-character Replace or
// an added token with a space can change the tokens before a cut: for each,
// "a" does not tokenize as "a b" begins. EncodeReader then reads all the
// text, and its prefix is still exact.
func TestEncodeReaderUnsafeCuts(t *testing.T) {
	vocab := obj{"a": 0, "▁": 1, "b": 2, "▁b": 3, "a▁b": 4}
	sp := obj{"type": "Replace", "pattern": obj{"String": " "}, "content": "▁"}
	for name, tok := range map[string]*Tokenizer{
		"merge across the space": newTestTokenizer(t, bpeJSON(vocab, []any{"▁ b", "a ▁b"}, nil), obj{"normalizer": sp}),
		"multi-character replace": newTestTokenizer(t, bpeJSON(vocab, []any{"▁ b"}, nil), obj{"normalizer": obj{"type": "Sequence", "normalizers": []any{
			sp, obj{"type": "Replace", "pattern": obj{"String": "a▁"}, "content": "b"}}}}),
		"added token with a space": newTestTokenizer(t, bpeJSON(vocab, []any{"▁ b"}, nil), obj{"normalizer": sp,
			"added_tokens": []any{obj{"id": 5, "content": "a b", "special": false, "normalized": false}}}),
	} {
		if p, all := tok.Encode("a"), tok.Encode("a b"); slices.Equal(p, all[:min(len(p), len(all))]) {
			t.Errorf("%s: %v begins %v: not an example of an unsafe cut", name, p, all)
		}
		if tok.CutsBeforeSpace() {
			t.Errorf("%s: cuts before spaces", name)
		}
		text := strings.Repeat("a b ", 50_000)
		r := &countingReader{r: strings.NewReader(text)}
		got, err := tok.EncodeReader(r, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := tok.Encode(text)[:10]; !slices.Equal(got, want) || r.n != len(text) {
			t.Errorf("%s: got %v after reading %d bytes, want %v after all %d", name, got, r.n, want, len(text))
		}
	}
	// Without the merge across the space, the same text is read in part.
	tok := newTestTokenizer(t, bpeJSON(vocab, []any{"▁ b"}, nil), obj{"normalizer": sp})
	r := &countingReader{r: strings.NewReader(strings.Repeat("a b ", 50_000))}
	if got, err := tok.EncodeReader(r, 10); err != nil || !tok.CutsBeforeSpace() || len(got) != 10 || r.n >= 200_000 {
		t.Errorf("safe tokenizer: %v %v, read %d bytes", got, err, r.n)
	}
}

// EncodeFile names the file in its errors and refuses an empty file;
// ForModel names the model directory.
func TestEncodeFileErrors(t *testing.T) {
	tok := sharedTokenizer(t, "models/tiny-llama/tokenizer.json")
	empty := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.EncodeFile(empty, 0); err == nil || !strings.Contains(err.Error(), empty+": the file is empty") {
		t.Errorf("empty file: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.txt")
	if _, err := tok.EncodeFile(missing, 0); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ForModel(nil, "models/m"); err == nil || err.Error() != "models/m has no tokenizer.json" {
		t.Errorf("no tokenizer: %v", err)
	}
	if _, err := ForModel([]byte("{"), "models/m"); err == nil || !strings.HasPrefix(err.Error(), filepath.Join("models/m", "tokenizer.json")+": ") {
		t.Errorf("bad tokenizer: %v", err)
	}
}
