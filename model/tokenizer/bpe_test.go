package tokenizer

import (
	"slices"
	"testing"
)

// The expectations in this file are those of Hugging Face's own BPE tests
// (tokenizers/src/models/bpe/model.rs), run through tokenizer.json files.

func TestBPEUnknown(t *testing.T) {
	vocab := obj{"<unk>": 0, "a": 1, "b": 2}
	for _, c := range []struct {
		fuse bool
		text string
		want []int32
	}{
		{false, "c", []int32{0}}, {false, "cc", []int32{0, 0}}, {false, "accb", []int32{1, 0, 0, 2}},
		{true, "c", []int32{0}}, {true, "cc", []int32{0}}, {true, "accb", []int32{1, 0, 2}},
	} {
		tok := newTestTokenizer(t, bpeJSON(vocab, nil, obj{"unk_token": "<unk>", "fuse_unk": c.fuse}), nil)
		if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
			t.Errorf("fuse_unk %v: Encode(%q) = %v, want %v", c.fuse, c.text, got, c.want)
		}
	}
	// Without unk_token an unknown character is dropped.
	tok := newTestTokenizer(t, bpeJSON(vocab, nil, nil), nil)
	if got := tok.Encode("acb"); !slices.Equal(got, []int32{1, 2}) {
		t.Errorf("no unk: Encode(acb) = %v, want [1 2]", got)
	}
}

func TestBPEByteFallback(t *testing.T) {
	tok := newTestTokenizer(t, bpeJSON(obj{"<unk>": 0, "<0x61>": 1, "<0x0A>": 2}, nil,
		obj{"unk_token": "<unk>", "byte_fallback": true}), nil)
	for text, want := range map[string][]int32{"c": {0}, "a": {1}, "\n": {2}} {
		if got := tok.Encode(text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestBPEMerges(t *testing.T) {
	vocab := obj{"u": 0, "n": 1, "r": 2, "e": 3, "l": 4, "a": 5, "t": 6, "d": 7, "re": 8, "at": 9, "ed": 10,
		"un": 11, "ated": 12, "rel": 13, "related": 14, "unrelated": 15}
	merges := []any{"r e", "a t", "e d", "u n", "at ed", "re l", "rel ated", "un related"}
	pairs := []any{[]string{"r", "e"}, []string{"a", "t"}, []string{"e", "d"}, []string{"u", "n"},
		[]string{"at", "ed"}, []string{"re", "l"}, []string{"rel", "ated"}, []string{"un", "related"}}
	for _, m := range [][]any{merges, pairs} {
		tok := newTestTokenizer(t, bpeJSON(vocab, m, obj{"dropout": 0.0}), nil)
		if got := tok.Encode("unrelated"); !slices.Equal(got, []int32{15}) {
			t.Errorf("Encode(unrelated) = %v, want [15]", got)
		}
	}
}

func TestBPEContinuingSubwordPrefix(t *testing.T) {
	tok := newTestTokenizer(t, bpeJSON(obj{"a": 0, "##b": 1, "##c": 2, "ab": 3, "abc": 4}, []any{"a ##b", "ab ##c"},
		obj{"unk_token": "[UNK]", "continuing_subword_prefix": "##"}), nil)
	for text, want := range map[string][]int32{"ab": {3}, "abc": {4}} {
		if got := tok.Encode(text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestBPEEndOfWordSuffix(t *testing.T) {
	tok := newTestTokenizer(t, bpeJSON(obj{"a": 0, "b</w>": 1, "ab</w>": 2, "a</w>": 3}, []any{"a b</w>"},
		obj{"end_of_word_suffix": "</w>"}), nil)
	for text, want := range map[string][]int32{"ab": {2}, "a": {3}, "aa": {0, 3}, "b": {1}} {
		if got := tok.Encode(text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestBPEIgnoreMerges(t *testing.T) {
	vocab := obj{".:.:": 0, "Ġbelirtilen": 1, ".": 2, ":": 3, "bel": 4, "irtilen": 5, "Ġ": 6, ".:": 7,
		"belirtilen": 8, ".:.": 9, "be": 10, "l": 11, "ir": 12, "ti": 13, "en": 14, "irtil": 15, "irti": 16,
		"i": 17, "r": 18, "t": 19, "b": 20, "e": 21, "n": 22}
	merges := []any{". :", "b e", "be l", "i r", "t i", "ir ti", "e n", "irti l"}
	for _, c := range []struct {
		ignore   bool
		text     string
		want     []int32
		viaBytes bool
	}{
		{true, ".:.:", []int32{0}, false}, {true, "Ġbelirtilen", []int32{1}, false},
		{false, ".:.:", []int32{7, 7}, false}, {false, "Ġbelirtilen", []int32{6, 4, 15, 14}, false},
		// The same through the byte-level path: " belirtilen" is "Ġbelirtilen".
		{true, " belirtilen", []int32{1}, true}, {false, " belirtilen", []int32{6, 4, 15, 14}, true},
	} {
		top := obj{}
		if c.viaBytes {
			top["pre_tokenizer"] = obj{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}
		}
		tok := newTestTokenizer(t, bpeJSON(vocab, merges, obj{"ignore_merges": c.ignore}), top)
		if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
			t.Errorf("ignore_merges %v: Encode(%q) = %v, want %v", c.ignore, c.text, got, c.want)
		}
	}
}
