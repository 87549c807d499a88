package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"lopper/internal/sharedtest"
)

// FuzzEncode checks that encoding never panics, that ids are in range, and
// that decoding gives the text back (GPT-2: any bytes; Llama 2: any bytes with
// special-token spellings taken as text, except a literal ▁, which Llama 2
// decodes as a space). For BERT (WordPiece) it also checks pairs: truncation
// to each length and padding keep ids, type ids and mask consistent.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "Hello world", "  \n\n\t", "'s 'S 're", "<|endoftext|><s>", "\xff\xfe\xc3", "😶‍🌫️ нещо 3333"} {
		f.Add(s)
	}
	gpt2 := sharedTokenizer(f, "tokenizers/gpt2/tokenizer.json")
	llama2 := sharedTokenizer(f, "tokenizers/llama2/tokenizer.json")
	bert, err := Load("testdata/wordpiece/tiny.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := EncodeOptions{LiteralSpecial: true}
		checkPairs(t, bert, s)
		for _, tok := range []*Tokenizer{gpt2, llama2, bert} {
			for _, ids := range [][]int32{tok.Encode(s), tok.EncodeWith(s, lit), tok.EncodeSpecial(s)} {
				for _, id := range ids {
					if _, ok := tok.Token(id); !ok {
						t.Fatalf("id %d out of the vocabulary for %q", id, s)
					}
				}
			}
		}
		_ = bert.Decode(bert.Encode(s))
		if got := gpt2.Decode(gpt2.Encode(s)); got != s {
			t.Fatalf("gpt2: %q round-trips to %q", s, got)
		}
		if !strings.Contains(s, "▁") {
			if got := llama2.Decode(llama2.EncodeWith(s, lit)); got != s {
				t.Fatalf("llama2: %q round-trips to %q", s, got)
			}
		}
	})
}

// FuzzFromJSON checks that no tokenizer.json, however broken, makes loading
// or encoding panic.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}`), "abab")
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"<unk>": 0, "<0x61>": 1}, "merges": [], "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true},
		"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
		"added_tokens": [{"id": 5, "content": "<s>", "special": true, "lstrip": true, "rstrip": true, "single_word": true, "normalized": true}],
		"decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 1}]}}`), "a <s> b")
	f.Add([]byte(`{"model": {"vocab": {"a": 0}, "merges": [["a", "a"]]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}}`), "a a")
	f.Add([]byte(`{"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 5, "vocab": {"[UNK]": 0, "a": 1, "##b": 2, "[S]": 3}},
		"normalizer": {"type": "BertNormalizer", "strip_accents": null}, "pre_tokenizer": {"type": "BertPreTokenizer"}, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
		"post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[S]", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
		"special_tokens": {"[S]": {"id": "[S]", "ids": [3], "tokens": ["[S]"]}}}}`), "ab, A中é")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tok, err := FromJSON(data)
		if err != nil {
			return
		}
		ids := tok.EncodeWith(text, EncodeOptions{AddSpecial: true})
		_ = tok.Decode(ids)
		_ = tok.DecodeWith(ids, DecodeOptions{SkipSpecial: true})
		checkPairs(t, tok, text)
	})
}

// checkPairs encodes text paired with itself and with a fixed text, truncated
// to several lengths, and checks the lengths of ids, type ids and mask, then
// pads them to one length.
func checkPairs(t *testing.T, tok *Tokenizer, text string) {
	ids, types := tok.EncodePair(text, "a b")
	if len(types) != len(ids) {
		t.Fatalf("%q: %d ids, %d type ids", text, len(ids), len(types))
	}
	var batch []Encoding
	for _, max := range []int{0, 3, 5, 8} {
		for _, s := range []TruncationStrategy{LongestFirst, OnlyFirst, OnlySecond} {
			e, err := tok.EncodeTextPair(text, text, EncodeOptions{AddSpecial: true}, Truncation{MaxLength: max, Strategy: s})
			if err != nil {
				continue // too few tokens for only_first / only_second, or too many specials
			}
			if max > 0 && len(e.IDs) > max || len(e.TypeIDs) != len(e.IDs) || len(e.AttentionMask) != len(e.IDs) {
				t.Fatalf("%q max %d strategy %d: %d ids, %d type ids, %d mask", text, max, s, len(e.IDs), len(e.TypeIDs), len(e.AttentionMask))
			}
			batch = append(batch, e)
		}
	}
	Pad(batch, Padding{MultipleOf: 8})
	for _, e := range batch {
		if len(e.IDs) != len(batch[0].IDs) || len(e.IDs)%8 != 0 || len(e.TypeIDs) != len(e.IDs) || len(e.AttentionMask) != len(e.IDs) {
			t.Fatalf("%q: padding gave %d ids, %d type ids, %d mask", text, len(e.IDs), len(e.TypeIDs), len(e.AttentionMask))
		}
	}
}

// TestConcurrentEncode encodes from several goroutines at once (run with
// -race) and checks every result against a sequential encoding.
func TestConcurrentEncode(t *testing.T) {
	gpt2 := sharedTokenizer(t, "tokenizers/gpt2/tokenizer.json")
	cases := readCases(t, sharedtest.Path(t, "tokenizers", "gpt2", "cases.jsonl"))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				c := cases[(i*7+g)%len(cases)]
				if got := gpt2.Encode(c.Text); !slices.Equal(got, c.IDs) {
					t.Errorf("goroutine %d: %q gives %v, want %v", g, c.Text, got, c.IDs)
					return
				}
			}
		}()
	}
	wg.Wait()
}
