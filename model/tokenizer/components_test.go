package tokenizer

import (
	"encoding/json"
	"slices"
	"testing"

	"lopper/internal/sharedtest"
)

// Metaspace expectations are those of Hugging Face's metaspace.rs tests.
func TestMetaspacePreTokenizer(t *testing.T) {
	p := metaspacePre{repl: "▁", scheme: prependAlways, cut: true}
	for in, want := range map[string][]string{
		"Hey friend!":   {"▁Hey", "▁friend!"},
		"Hey   friend!": {"▁Hey", "▁", "▁", "▁friend!"},
		"a▁b":           {"▁a", "▁b"},
	} {
		var got []string
		p.split(in, true, func(w string) { got = append(got, w) })
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	// prepend_scheme "first", no split, after splitting out <s>: only the piece
	// at the start of the text gets a ▁. Each expected piece is a whole token.
	vocab := obj{"▁Hey▁": 0, "<s>": 1, "how▁": 2, "are▁": 3, "▁you": 4}
	tok := newTestTokenizer(t, bpeJSON(vocab, nil, obj{"ignore_merges": true}), obj{
		"added_tokens":  []any{obj{"id": 1, "content": "<s>", "special": true}},
		"pre_tokenizer": obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
		"decoder":       obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
	})
	if got := tok.Encode(" Hey <s>how <s>are <s> you"); !slices.Equal(got, []int32{0, 1, 2, 1, 3, 1, 4}) {
		t.Errorf("first scheme: %v", got)
	}
	if got := tok.Decode([]int32{4, 4}); got != "you you" {
		t.Errorf("Metaspace decoder: %q", got)
	}
}

func TestDecoders(t *testing.T) {
	for _, c := range []struct {
		d        decoder
		in, want []string
	}{
		{stripDec{'H', 1, 0}, []string{"Hey", " friend!", "HHH"}, []string{"ey", " friend!", "HH"}},
		{stripDec{'y', 0, 1}, []string{"Hey", " friend!"}, []string{"He", " friend!"}},
		{byteFallbackDec{}, []string{"Hey", "friend!"}, []string{"Hey", "friend!"}},
		{byteFallbackDec{}, []string{"<0x61>"}, []string{"a"}},
		{byteFallbackDec{}, []string{"<0xE5>", "<0x8f>", "<0xab>", "a"}, []string{"叫", "a"}},
		// Hugging Face gives "�" for each byte here; lopper keeps the bytes.
		{byteFallbackDec{}, []string{"<0xE5>", "<0x8f>", "a"}, []string{"\xe5\x8f", "a"}},
		{metaspaceDec{metaspacePre{repl: "▁", scheme: prependAlways}}, []string{"▁Hey", "▁friend!"}, []string{"Hey", " friend!"}},
		{metaspaceDec{metaspacePre{repl: "▁", scheme: prependNever}}, []string{"▁Hey", "▁friend!"}, []string{" Hey", " friend!"}},
		{byteLevelDec{}, []string{"Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "<|endoftext|>"}, []string{"Hello my friend, how<|endoftext|>"}},
		{sequenceDec{replaceDec{"▁", " "}, fuseDec{}}, []string{"▁a", "▁b"}, []string{" a b"}},
	} {
		if got := c.d.decode(slices.Clone(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("%T on %q: got %q, want %q", c.d, c.in, got, c.want)
		}
	}
}

// TestSplitSequenceEqualsByteLevelRegex rewrites the GPT-2 tokenizer.json in
// the Llama 3 style, Sequence[Split(regex), ByteLevel(use_regex false)], which
// must tokenize exactly as ByteLevel(use_regex true).
func TestSplitSequenceEqualsByteLevelRegex(t *testing.T) {
	data := sharedtest.Read(t, "tokenizers", "gpt2", "tokenizer.json")
	var f map[string]json.RawMessage
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	f["pre_tokenizer"], _ = json.Marshal(obj{"type": "Sequence", "pretokenizers": []any{
		obj{"type": "Split", "pattern": obj{"Regex": patternGPT2}, "behavior": "Isolated", "invert": false},
		obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
	}})
	data, _ = json.Marshal(f)
	seq, err := FromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range readCases(t, sharedtest.Path(t, "tokenizers", "gpt2", "cases.jsonl")) {
		if got := seq.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("%q: got %v, want %v", c.Text, got, c.IDs)
		}
	}
}

func TestPostProcessors(t *testing.T) {
	vocab := obj{"[CLS]": 0, "[SEP]": 1, "a": 2}
	for _, c := range []struct {
		post obj
		want []int32
	}{
		{obj{"type": "BertProcessing", "sep": []any{"[SEP]", 1}, "cls": []any{"[CLS]", 0}}, []int32{0, 2, 1}},
		{obj{"type": "RobertaProcessing", "sep": []any{"[SEP]", 1}, "cls": []any{"[CLS]", 0}}, []int32{0, 2, 1}},
		{obj{"type": "Sequence", "processors": []any{obj{"type": "ByteLevel"}, obj{"type": "TemplateProcessing",
			"single": []any{obj{"SpecialToken": obj{"id": "[CLS]", "type_id": 0}}, obj{"Sequence": obj{"id": "A", "type_id": 0}},
				obj{"SpecialToken": obj{"id": "[SEP]", "type_id": 0}}},
			"special_tokens": obj{"[CLS]": obj{"id": "[CLS]", "ids": []int{0}}, "[SEP]": obj{"id": "[SEP]", "ids": []int{1}}}}}},
			[]int32{0, 2, 1}},
	} {
		tok := newTestTokenizer(t, bpeJSON(vocab, nil, nil), obj{"post_processor": c.post})
		if got := tok.EncodeSpecial("a"); !slices.Equal(got, c.want) {
			t.Errorf("%v: got %v, want %v", c.post["type"], got, c.want)
		}
		if got := tok.Encode("a"); !slices.Equal(got, []int32{2}) {
			t.Errorf("%v without specials: got %v", c.post["type"], got)
		}
	}
}
