package synth

import (
	"encoding/json"
	"maps"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model/tokenizer"
)

// The tokenizer maps a text to its UTF-8 bytes and back, through lopper's
// tokenizer.json reader.
func TestByteLevelTokenizer(t *testing.T) {
	data, err := ByteLevelTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 256 {
		t.Fatalf("vocabulary %d, want 256", tok.VocabSize())
	}
	for _, text := range []string{"sort 2 9 1 4 1 = 1 1 2 4 9\n", "  tabs\tand\r\nnewlines", "héllo wörld, ☃ 𝄞", "\x00\x01\x7f"} {
		ids := tok.Encode(text)
		if len(ids) != len(text) {
			t.Fatalf("%q: %d tokens for %d bytes", text, len(ids), len(text))
		}
		for i, id := range ids {
			if id != int32(text[i]) {
				t.Fatalf("%q: token %d is %d, want byte %d", text, i, id, text[i])
			}
		}
		if got := tok.Decode(ids); got != text {
			t.Fatalf("decode(encode(%q)) = %q", text, got)
		}
	}
}

// byteRune is GPT-2's bytes_to_unicode: a bijection onto 256 runes that
// keeps the 188 printable bytes and sends the other 68 to U+0100….
func TestByteRuneIsGPT2Table(t *testing.T) {
	seen := map[rune]bool{}
	moved := 0
	for b := range 256 {
		r := byteRune(byte(b))
		if seen[r] {
			t.Fatalf("rune %U twice", r)
		}
		seen[r] = true
		if r != rune(b) {
			if r < 256 || r >= 256+68 {
				t.Fatalf("byte %d → %U, outside U+0100…U+0143", b, r)
			}
			moved++
		}
	}
	if moved != 68 || byteRune(' ') != 'Ġ' || byteRune('\n') != 'Ċ' || byteRune(0xAD) != 'Ń' {
		t.Errorf("%d bytes moved; ' ' → %c, '\\n' → %c, 0xAD → %c; want 68, Ġ, Ċ, Ń", moved, byteRune(' '), byteRune('\n'), byteRune(0xAD))
	}
}

// The vocabulary equals the one of the shared tiny models' tokenizer.json,
// which Hugging Face's tooling wrote.
func TestTokenizerMatchesSharedTinyModel(t *testing.T) {
	ref := sharedtest.Read(t, "models", "tiny-llama", "tokenizer.json")
	data, err := ByteLevelTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	vocab := func(b []byte) map[string]int {
		var doc struct {
			Model struct {
				Type   string         `json:"type"`
				Vocab  map[string]int `json:"vocab"`
				Merges []any          `json:"merges"`
			} `json:"model"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Model.Type != "BPE" || len(doc.Model.Merges) != 0 {
			t.Fatalf("model %q with %d merges, want BPE without merges", doc.Model.Type, len(doc.Model.Merges))
		}
		return doc.Model.Vocab
	}
	if got, want := vocab(data), vocab(ref); !maps.Equal(got, want) {
		t.Errorf("the vocabulary differs from the shared tiny-llama's")
	}
}
