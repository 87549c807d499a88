package tokenizer

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The Unicode normalization forms on the examples of UAX #15 (singletons,
// canonical composites, compatibility composites, the long s with two
// dots, Hangul); every expected string was checked with Python's
// unicodedata.normalize.
func TestUnicodeNormalizers(t *testing.T) {
	cases := []struct{ in, nfc, nfd, nfkc, nfkd string }{
		{"\u212B", "\u00C5", "A\u030A", "\u00C5", "A\u030A"},
		{"\u1E0A\u0323", "\u1E0C\u0307", "D\u0323\u0307", "\u1E0C\u0307", "D\u0323\u0307"},
		{"\uFB01", "\uFB01", "\uFB01", "fi", "fi"},
		{"\u2075", "\u2075", "\u2075", "5", "5"},
		{"\u1E9B\u0323", "\u1E9B\u0323", "\u017F\u0323\u0307", "\u1E69", "s\u0323\u0307"},
		{"e\u0301", "\u00E9", "e\u0301", "\u00E9", "e\u0301"},
		{"\u1100\u1161\u11A8", "\uAC01", "\u1100\u1161\u11A8", "\uAC01", "\u1100\u1161\u11A8"},
		{"\uFF21\u2460x\u00B2", "\uFF21\u2460x\u00B2", "\uFF21\u2460x\u00B2", "A1x2", "A1x2"},
		{"", "", "", "", ""},
	}
	for _, c := range cases {
		for typ, want := range map[string]string{"NFC": c.nfc, "NFD": c.nfd, "NFKC": c.nfkc, "NFKD": c.nfkd} {
			n, err := parseNormalizer([]byte(`{"type":"`+typ+`"}`), "normalizer")
			if err != nil {
				t.Fatal(err)
			}
			if got := n.normalize(c.in); got != want {
				t.Errorf("%s(%+q) = %+q, want %+q", typ, c.in, got, want)
			}
		}
	}
}

// Lowercase maps character by character with Rust's char::to_lowercase,
// as Hugging Face's Lowercase does: İ becomes i + combining dot, and a
// final capital sigma is σ (Python's str.lower would give ς). Bytes that
// are not UTF-8 pass through.
func TestLowercaseNormalizer(t *testing.T) {
	n, err := parseNormalizer([]byte(`{"type":"Lowercase"}`), "normalizer")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"HeLLo ÀÉ":       "hello àé",
		"\u0130":         "i\u0307",
		"ΣΑΣ":            "σασ",
		"\u1E9E":         "\u00DF",
		"already lower":  "already lower",
		"A\xffB\xc3":     "a\xffb\xc3",
		"ǅ (title case)": "ǆ (title case)",
	} {
		if got := n.normalize(in); got != want {
			t.Errorf("Lowercase(%+q) = %+q, want %+q", in, got, want)
		}
	}
}

// Every code point against Rust's char::to_lowercase (rustc 1.95,
// testdata/gen_lowercase.rs): the listed ones map as listed, all others to
// themselves. Code points that Go's Unicode tables do not know yet (Rust's
// are newer) are left out.
func TestLowercaseMatchesRust(t *testing.T) {
	f, err := os.Open("testdata/lowercase_rust.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[rune]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var cps []rune
		for _, h := range strings.Fields(sc.Text()) {
			v, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				t.Fatalf("%q: %v", sc.Text(), err)
			}
			cps = append(cps, rune(v))
		}
		want[cps[0]] = string(cps[1:])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) < 1400 {
		t.Fatalf("%d mappings read", len(want))
	}
	var low lowercaseNorm
	checked := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF || !known(r) {
			continue
		}
		w, ok := want[r]
		if !ok {
			w = string(r)
		}
		if got := low.normalize(string(r)); got != w {
			t.Errorf("U+%04X: %+q, Rust %+q", r, got, w)
		}
		checked++
	}
	t.Logf("%d code points checked, %d of them change", checked, len(want))
}

// known reports whether Go's Unicode tables assign r a category (unicode.C
// would also take unassigned code points).
func known(r rune) bool {
	return slices.ContainsFunc([]*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs},
		func(tab *unicode.RangeTable) bool { return unicode.Is(tab, r) })
}

// In a tokenizer: a Qwen2-style tokenizer.json (NFC, the Qwen 2 split
// regex, byte-level) loads and gives a decomposed é the ids of the
// composed one; Lowercase in a Sequence runs before the pre-tokenizer, and
// an added token marked normalized matches the normalized text.
func TestNormalizersInTokenizer(t *testing.T) {
	vocab := obj{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	vocab["Ã©"] = 256 // é's two bytes, byte-level encoded
	byteLevel := obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	qwen := newTestTokenizer(t, bpeJSON(vocab, []any{"Ã ©"}, nil), obj{
		"normalizer": obj{"type": "NFC"},
		"pre_tokenizer": obj{"type": "Sequence", "pretokenizers": []any{
			obj{"type": "Split", "pattern": obj{"Regex": patternQwen2}, "behavior": "Isolated", "invert": false},
			byteLevel,
		}},
		"decoder": obj{"type": "ByteLevel"},
	})
	composed, decomposed := qwen.Encode("caf\u00E9"), qwen.Encode("cafe\u0301")
	if !slices.Equal(composed, []int32{'c', 'a', 'f', 256}) || !slices.Equal(decomposed, composed) {
		t.Errorf("NFC: composed %v, decomposed %v, want both [99 97 102 256]", composed, decomposed)
	}
	lower := newTestTokenizer(t, bpeJSON(vocab, nil, nil), obj{
		"normalizer":    obj{"type": "Sequence", "normalizers": []any{obj{"type": "NFKC"}, obj{"type": "Lowercase"}}},
		"pre_tokenizer": byteLevel,
		"added_tokens":  []any{obj{"id": 300, "content": "<BIG>", "normalized": true}},
	})
	if got := lower.Encode("ＡB<BIG>"); !slices.Equal(got, []int32{'a', 'b', 300}) {
		t.Errorf("NFKC + Lowercase: %v, want [97 98 300] (fullwidth A folded, <BIG> matched as <big>)", got)
	}
}
