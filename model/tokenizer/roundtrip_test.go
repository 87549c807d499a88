package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"lopper/internal/sharedtest"
)

// randomText makes a string from random runes of many scripts and classes,
// random bytes (often invalid UTF-8) when bytes is set.
func randomText(r *rand.Rand, n int, bytes bool) string {
	alphabets := []string{
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n\r\v\f",
		"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "äöüßéèñçÆØÅ", "нещо на Български", "αβγδεζ",
		"我想在工作天～", "កាន់តែពិសេស", "😁🚀🦙✅", "\u00a0\u2003\u3000\u200b\u200d\u0301", "½²٣３Ⅻ",
	}
	var sb strings.Builder
	for sb.Len() < n {
		if bytes && r.IntN(8) == 0 {
			sb.WriteByte(byte(r.IntN(256)))
			continue
		}
		a := []rune(alphabets[r.IntN(len(alphabets))])
		sb.WriteRune(a[r.IntN(len(a))])
	}
	return sb.String()
}

func utf8Bytes(s string) []int32 {
	ids := make([]int32, len(s))
	for i := range len(s) {
		ids[i] = int32(s[i])
	}
	return ids
}

// TestTinyByteTokenizers checks the byte-level tokenizers of the shared tiny
// models: a token is a byte, so any text encodes to its bytes.
func TestTinyByteTokenizers(t *testing.T) {
	text := sharedtest.EvalText(t)
	r := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "ROMEO: ", string(text[:4096]), "\x00\xff\xfe", "  \n\n  x"}
	for range 200 {
		texts = append(texts, randomText(r, r.IntN(64), true))
	}
	for _, m := range sharedtest.Models {
		tok := sharedTokenizer(t, filepath.Join("models", m, "tokenizer.json"))
		if tok.VocabSize() != 256 {
			t.Errorf("%s: VocabSize %d, want 256", m, tok.VocabSize())
		}
		for _, s := range texts {
			if got := tok.Encode(s); !slices.Equal(got, utf8Bytes(s)) {
				t.Fatalf("%s: Encode(%q) = %v, want its bytes", m, s, got)
			}
			if back := tok.Decode(utf8Bytes(s)); back != s {
				t.Fatalf("%s: Decode of the bytes of %q = %q", m, s, back)
			}
		}
	}
}

// TestRoundTrip checks decode(encode(s)) == s on random strings: exact for the
// byte-level GPT-2 tokenizer on any bytes, and for Llama 2 (byte fallback) on
// any bytes too, special-token spellings included when they are encoded as
// text. Llama 2 maps a literal ▁ to a space on decoding, so it is left out.
func TestRoundTrip(t *testing.T) {
	gpt2 := sharedTokenizer(t, "tokenizers/gpt2/tokenizer.json")
	llama2 := sharedTokenizer(t, "tokenizers/llama2/tokenizer.json")
	r := rand.New(rand.NewPCG(3, 4))
	n := 2000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		s := randomText(r, r.IntN(100), i%2 == 0)
		if r.IntN(10) == 0 {
			s += "<|endoftext|><s></s>"
		}
		lit := EncodeOptions{LiteralSpecial: true}
		if got := gpt2.Decode(gpt2.Encode(s)); got != s {
			t.Fatalf("gpt2: %q round-trips to %q", s, got)
		}
		if got := gpt2.Decode(gpt2.EncodeWith(s, lit)); got != s {
			t.Fatalf("gpt2 literal: %q round-trips to %q", s, got)
		}
		s = strings.ReplaceAll(s, "▁", "_")
		if got := llama2.Decode(llama2.EncodeWith(s, lit)); got != s {
			t.Fatalf("llama2: %q round-trips to %q", s, got)
		}
		if utf8.ValidString(s) && !strings.Contains(s, "<") {
			if got := llama2.Decode(llama2.Encode(s)); got != s {
				t.Fatalf("llama2: %q round-trips to %q", s, got)
			}
		}
	}
}
