package tokenizer

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

// TestLongestFirst checks the lengths Hugging Face's own test keeps of pairs of
// 0, 2, 4 and 8 tokens with room for 7 (utils/truncation.rs,
// truncate_encodings_longest_first).
func TestLongestFirst(t *testing.T) {
	sizes := []int{0, 2, 4, 8} // empty, short, medium, long
	want := [4][4][2]int{
		{{0, 0}, {0, 2}, {0, 4}, {0, 7}},
		{{2, 0}, {2, 2}, {2, 4}, {2, 5}},
		{{4, 0}, {4, 2}, {3, 4}, {3, 4}},
		{{7, 0}, {5, 2}, {4, 3}, {3, 4}},
	}
	for i, a := range sizes {
		for j, b := range sizes {
			seqs := [][]int32{make([]int32, a), make([]int32, b)}
			if err := truncate(seqs, Truncation{MaxLength: 7}, 0); err != nil {
				t.Fatal(err)
			}
			if got := [2]int{len(seqs[0]), len(seqs[1])}; got != want[i][j] {
				t.Errorf("%d + %d tokens in 7: kept %v, want %v", a, b, got, want[i][j])
			}
		}
	}
}

// tinyBert is a BERT-style tokenizer with a few whole words.
func tinyBert(tb testing.TB, post obj) *Tokenizer {
	tb.Helper()
	vocab := obj{"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "b": 5, "c": 6, "d": 7, "e": 8, "f": 9}
	added := []any{}
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"} {
		added = append(added, obj{"id": vocab[s], "content": s, "special": true})
	}
	return newTestTokenizer(tb, wordPieceJSON(vocab), obj{"added_tokens": added,
		"normalizer": obj{"type": "BertNormalizer"}, "pre_tokenizer": obj{"type": "BertPreTokenizer"}, "post_processor": post})
}

func TestTruncationOptions(t *testing.T) {
	tok := tinyBert(t, obj{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}})
	special := EncodeOptions{AddSpecial: true}
	for _, c := range []struct {
		a, b  string
		o     EncodeOptions
		tr    Truncation
		want  []int32 // nil: an error
		types []int32 // nil: not checked
	}{
		{"a b c d", "", special, Truncation{MaxLength: 4}, []int32{2, 4, 5, 3}, nil},
		{"a b c d", "", special, Truncation{MaxLength: 4, Left: true}, []int32{2, 6, 7, 3}, nil},
		{"a b c d", "", EncodeOptions{}, Truncation{MaxLength: 3}, []int32{4, 5, 6}, nil},
		{"a b c d", "", special, Truncation{MaxLength: 2}, []int32{2, 3}, nil}, // no room: Hugging Face empties the sequence
		{"a b c d", "e f", special, Truncation{MaxLength: 7}, []int32{2, 4, 5, 3, 8, 9, 3}, []int32{0, 0, 0, 0, 1, 1, 1}},
		{"a b c", "d e f", special, Truncation{MaxLength: 6}, []int32{2, 4, 3, 7, 8, 3}, []int32{0, 0, 0, 1, 1, 1}},
		{"a b c", "d e f", special, Truncation{MaxLength: 6, Strategy: OnlyFirst}, nil, nil},
		{"a b c d", "e f", special, Truncation{MaxLength: 7, Strategy: OnlyFirst}, []int32{2, 4, 5, 3, 8, 9, 3}, []int32{0, 0, 0, 0, 1, 1, 1}},
		{"a b", "c d e f", special, Truncation{MaxLength: 7, Strategy: OnlySecond, Left: true}, []int32{2, 4, 5, 3, 8, 9, 3}, []int32{0, 0, 0, 0, 1, 1, 1}},
		{"a b", "c d", EncodeOptions{}, Truncation{MaxLength: 3}, []int32{4, 6, 7}, []int32{0, 1, 1}},
	} {
		var e Encoding
		var err error
		if c.b == "" {
			e, err = tok.EncodeText(c.a, c.o, c.tr)
		} else {
			e, err = tok.EncodeTextPair(c.a, c.b, c.o, c.tr)
		}
		if c.want == nil {
			if err == nil {
				t.Errorf("%q %q %+v: no error, got %v", c.a, c.b, c.tr, e.IDs)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q %q %+v: %v", c.a, c.b, c.tr, err)
			continue
		}
		if !slices.Equal(e.IDs, c.want) || c.types != nil && !slices.Equal(e.TypeIDs, c.types) {
			t.Errorf("%q %q %+v: got %v %v, want %v %v", c.a, c.b, c.tr, e.IDs, e.TypeIDs, c.want, c.types)
		}
		if len(e.TypeIDs) != len(e.IDs) || len(e.AttentionMask) != len(e.IDs) || slices.Contains(e.AttentionMask, 0) {
			t.Errorf("%q %q: type ids %v and mask %v do not match ids %v", c.a, c.b, e.TypeIDs, e.AttentionMask, e.IDs)
		}
	}
	_, err := tok.EncodeText("a", EncodeOptions{AddSpecial: true}, Truncation{MaxLength: 1})
	if err == nil || !strings.Contains(err.Error(), "less than the 2 special tokens") {
		t.Errorf("max length below the specials: %v", err)
	}
	_, err = tok.EncodeText("a b", EncodeOptions{}, Truncation{MaxLength: 1, Strategy: OnlySecond})
	if err == nil || !strings.Contains(err.Error(), "only_second needs a pair") {
		t.Errorf("only_second on one sequence: %v", err)
	}
}

// TestPairProcessors checks the layout of pairs under each post-processor,
// with and without special tokens (processors/bert.rs, roberta.rs,
// template.rs; without a post-processor the second sequence has type id 1).
func TestPairProcessors(t *testing.T) {
	bertTpl := obj{"type": "TemplateProcessing",
		"single": []any{obj{"SpecialToken": obj{"id": "[CLS]", "type_id": 0}}, obj{"Sequence": obj{"id": "A", "type_id": 0}}, obj{"SpecialToken": obj{"id": "[SEP]", "type_id": 0}}},
		"pair": []any{obj{"SpecialToken": obj{"id": "[CLS]", "type_id": 0}}, obj{"Sequence": obj{"id": "A", "type_id": 0}}, obj{"SpecialToken": obj{"id": "[SEP]", "type_id": 0}},
			obj{"Sequence": obj{"id": "B", "type_id": 1}}, obj{"SpecialToken": obj{"id": "[SEP]", "type_id": 1}}},
		"special_tokens": obj{"[CLS]": obj{"id": "[CLS]", "ids": []int{2}, "tokens": []string{"[CLS]"}}, "[SEP]": obj{"id": "[SEP]", "ids": []int{3}, "tokens": []string{"[SEP]"}}}}
	for _, c := range []struct {
		name                   string
		post                   any
		ids, types, ids0, ty0  []int32
		singleIDs, singleTypes []int32
	}{
		{"none", nil, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{4, 5}, []int32{0, 0}},
		{"bert", obj{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}},
			[]int32{2, 4, 5, 3, 6, 3}, []int32{0, 0, 0, 0, 1, 1}, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{2, 4, 5, 3}, []int32{0, 0, 0, 0}},
		{"roberta", obj{"type": "RobertaProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}, "trim_offsets": true, "add_prefix_space": true},
			[]int32{2, 4, 5, 3, 3, 6, 3}, []int32{0, 0, 0, 0, 0, 0, 0}, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{2, 4, 5, 3}, []int32{0, 0, 0, 0}},
		{"template", bertTpl, []int32{2, 4, 5, 3, 6, 3}, []int32{0, 0, 0, 0, 1, 1}, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{2, 4, 5, 3}, []int32{0, 0, 0, 0}},
		{"template without pair", obj{"type": "TemplateProcessing", "single": []any{obj{"Sequence": obj{"id": "A", "type_id": 0}}, obj{"SpecialToken": obj{"id": "[SEP]", "type_id": 0}}},
			"special_tokens": obj{"[SEP]": obj{"id": "[SEP]", "ids": []int{3}}}},
			[]int32{4, 5, 6}, []int32{0, 0, 1}, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{4, 5, 3}, []int32{0, 0, 0}},
		{"sequence", obj{"type": "Sequence", "processors": []any{obj{"type": "ByteLevel"}, obj{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}}}},
			[]int32{2, 4, 5, 3, 6, 3}, []int32{0, 0, 0, 0, 1, 1}, []int32{4, 5, 6}, []int32{0, 0, 1}, []int32{2, 4, 5, 3}, []int32{0, 0, 0, 0}},
	} {
		tok := tinyBert(t, nil)
		if c.post != nil {
			tok = tinyBert(t, c.post.(obj))
		}
		ids, types := tok.EncodePair("A b", "c")
		if !slices.Equal(ids, c.ids) || !slices.Equal(types, c.types) {
			t.Errorf("%s: pair %v %v, want %v %v", c.name, ids, types, c.ids, c.types)
		}
		e, err := tok.EncodeTextPair("A b", "c", EncodeOptions{}, Truncation{})
		if err != nil || !slices.Equal(e.IDs, c.ids0) || !slices.Equal(e.TypeIDs, c.ty0) {
			t.Errorf("%s: pair without specials %v %v (%v), want %v %v", c.name, e.IDs, e.TypeIDs, err, c.ids0, c.ty0)
		}
		e, err = tok.EncodeText("A b", EncodeOptions{AddSpecial: true}, Truncation{})
		if err != nil || !slices.Equal(e.IDs, c.singleIDs) || !slices.Equal(e.TypeIDs, c.singleTypes) {
			t.Errorf("%s: single %v %v (%v), want %v %v", c.name, e.IDs, e.TypeIDs, err, c.singleIDs, c.singleTypes)
		}
		if got := tok.EncodeSpecial("A b"); !slices.Equal(got, c.singleIDs) {
			t.Errorf("%s: EncodeSpecial %v, want %v", c.name, got, c.singleIDs)
		}
	}
}

func TestPad(t *testing.T) {
	batch := []Encoding{
		{IDs: []int32{2, 4, 3}, TypeIDs: []int32{0, 0, 0}, AttentionMask: []int32{1, 1, 1}},
		{IDs: []int32{2, 4, 5, 6, 3}, TypeIDs: []int32{0, 0, 0, 1, 1}, AttentionMask: []int32{1, 1, 1, 1, 1}},
	}
	clone := func() []Encoding {
		out := slices.Clone(batch)
		for i := range out {
			out[i].IDs, out[i].TypeIDs, out[i].AttentionMask = slices.Clone(out[i].IDs), slices.Clone(out[i].TypeIDs), slices.Clone(out[i].AttentionMask)
		}
		return out
	}
	b := clone()
	Pad(b, Padding{ID: 9, TypeID: 7})
	if !slices.Equal(b[0].IDs, []int32{2, 4, 3, 9, 9}) || !slices.Equal(b[0].TypeIDs, []int32{0, 0, 0, 7, 7}) ||
		!slices.Equal(b[0].AttentionMask, []int32{1, 1, 1, 0, 0}) || !slices.Equal(b[1].IDs, batch[1].IDs) {
		t.Errorf("longest: %+v", b)
	}
	b = clone()
	Pad(b, Padding{ID: 9, Left: true, MultipleOf: 4})
	if !slices.Equal(b[0].IDs, []int32{9, 9, 9, 9, 9, 2, 4, 3}) || !slices.Equal(b[1].AttentionMask, []int32{0, 0, 0, 1, 1, 1, 1, 1}) {
		t.Errorf("left, multiple of 4: %+v", b)
	}
	b = clone()
	Pad(b, Padding{ID: 9, Length: 4})
	if len(b[0].IDs) != 4 || len(b[1].IDs) != 5 {
		t.Errorf("fixed 4: %+v", b)
	}
	tok := tinyBert(t, nil)
	if id, ok := tok.PadID(); !ok || id != 0 {
		t.Errorf("PadID = %d, %v; want [PAD] 0", id, ok)
	}
	tok = newTestTokenizer(t, wordPieceJSON(obj{"[UNK]": 0, "<p>": 1}), obj{"padding": obj{"strategy": "BatchLongest", "direction": "Right",
		"pad_to_multiple_of": nil, "pad_id": 1, "pad_type_id": 0, "pad_token": "<p>"}})
	if id, ok := tok.PadID(); !ok || id != 1 {
		t.Errorf("PadID from the padding block = %d, %v; want 1", id, ok)
	}
}

// TestRobertaPair turns the shared GPT-2 tokenizer.json into RoBERTa's layout
// (ByteLevel without prefix space, <s> </s> <pad> <mask> added, <mask> with
// lstrip, RobertaProcessing) and checks pairs against the GPT-2 encodings of
// each side, which the shared cases establish: <s> A </s></s> B </s>, all
// type ids 0, and the texts back on decoding.
func TestRobertaPair(t *testing.T) {
	data := sharedtest.Read(t, "tokenizers", "gpt2", "tokenizer.json")
	gpt2, err := FromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	const bos, eos, pad, mask = 50257, 50258, 50259, 50260
	f["added_tokens"] = mustMarshal(t, []any{
		obj{"id": bos, "content": "<s>", "special": true}, obj{"id": eos, "content": "</s>", "special": true},
		obj{"id": pad, "content": "<pad>", "special": true}, obj{"id": mask, "content": "<mask>", "special": true, "lstrip": true},
	})
	f["pre_tokenizer"] = mustMarshal(t, obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})
	f["post_processor"] = mustMarshal(t, obj{"type": "RobertaProcessing", "sep": []any{"</s>", eos}, "cls": []any{"<s>", bos},
		"trim_offsets": true, "add_prefix_space": true})
	roberta, err := FromJSON(mustMarshal(t, f))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"Hello world", "How are you?"}, {"", " leading space"}, {"<mask> is here", "x"}} {
		ids, types := roberta.EncodePair(p[0], p[1])
		a, b := gpt2.Encode(p[0]), gpt2.Encode(p[1])
		if p[0] == "<mask> is here" {
			a = append([]int32{mask}, gpt2.Encode(" is here")...)
		}
		want := slices.Concat([]int32{bos}, a, []int32{eos, eos}, b, []int32{eos})
		if !slices.Equal(ids, want) || len(types) != len(ids) || slices.ContainsFunc(types, func(x int32) bool { return x != 0 }) {
			t.Errorf("%q: %v %v, want %v, type ids 0", p, ids, types, want)
		}
		if got := roberta.DecodeWith(ids, DecodeOptions{SkipSpecial: true}); got != strings.TrimPrefix(p[0], "<mask>")+p[1] {
			t.Errorf("%q: decodes to %q", p, got)
		}
	}
	if got := roberta.EncodeSpecial("Hello"); !slices.Equal(got, slices.Concat([]int32{bos}, gpt2.Encode("Hello"), []int32{eos})) {
		t.Errorf("single: %v", got)
	}
	if id, ok := roberta.PadID(); !ok || id != pad {
		t.Errorf("PadID = %d, %v", id, ok)
	}
	if id, ok := roberta.BOS(); !ok || id != bos {
		t.Errorf("BOS = %d, %v", id, ok)
	}
}
