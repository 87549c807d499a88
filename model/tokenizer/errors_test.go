package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadErrors checks that bad files are refused with an error that says
// what is wrong and where.
func TestLoadErrors(t *testing.T) {
	vocab := obj{"a": 0, "b": 1, "ab": 2}
	good := bpeJSON(vocab, []any{"a b"}, nil)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte(`{"model": `), "invalid JSON"},
		{"not an object", []byte(`[1, 2]`), "tokenizer"},
		{"no model", []byte(`{}`), "model: missing"},
		{"WordLevel", mustJSON(t, obj{"type": "WordLevel", "vocab": obj{}}, nil), `unsupported model type "WordLevel"`},
		{"WordPiece fields", mustJSON(t, obj{"type": "WordPiece", "vocab": obj{}}, nil), `WordPiece without "unk_token"`},
		{"WordPiece unk", mustJSON(t, wordPieceJSON(obj{"a": 0}), nil), `unk_token "[UNK]" is not in the vocab`},
		{"WordPiece id", mustJSON(t, wordPieceJSON(obj{"[UNK]": -3}), nil), `token "[UNK]" has id -3`},
		{"BertNormalizer type", mustJSON(t, good, obj{"normalizer": obj{"type": "BertNormalizer", "lowercase": "yes"}}), "normalizer"},
		{"Unigram", mustJSON(t, obj{"type": "Unigram", "vocab": []any{}}, nil), `"Unigram"`},
		{"dropout", mustJSON(t, bpeJSON(vocab, nil, obj{"dropout": 0.1}), nil), "dropout"},
		{"bad merge string", mustJSON(t, bpeJSON(vocab, []any{"a b c"}, nil), nil), `"a b c"`},
		{"bad merge pair", mustJSON(t, bpeJSON(vocab, []any{[]string{"a"}}, nil), nil), "two tokens"},
		{"merge out of vocab", mustJSON(t, bpeJSON(vocab, []any{"a c"}, nil), nil), `model.merges[0] "a" + "c": token "c"`},
		{"merge result out of vocab", mustJSON(t, bpeJSON(vocab, []any{"b a"}, nil), nil), `token "ba"`},
		{"merge without prefix", mustJSON(t, bpeJSON(vocab, []any{"a b"}, obj{"continuing_subword_prefix": "##"}), nil), "lacks continuing_subword_prefix"},
		{"negative id", mustJSON(t, bpeJSON(obj{"a": -1}, nil, nil), nil), `token "a" has id -1`},
		{"huge id", mustJSON(t, bpeJSON(obj{"a": 1 << 30}, nil, nil), nil), "outside"},
		{"vocab type", []byte(`{"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}}`), "model"},
		{"normalizer", mustJSON(t, good, obj{"normalizer": obj{"type": "Precompiled"}}), `normalizer: unsupported normalizer type "Precompiled"`},
		{"nested normalizer", mustJSON(t, good, obj{"normalizer": obj{"type": "Sequence", "normalizers": []any{obj{"type": "NFC"}, obj{"type": "StripAccents"}}}}),
			`normalizer.normalizers[1]: unsupported normalizer type "StripAccents"`},
		{"regex replace", mustJSON(t, good, obj{"normalizer": obj{"type": "Replace", "pattern": obj{"Regex": " +"}, "content": " "}}), "Regex pattern"},
		{"no type", mustJSON(t, good, obj{"normalizer": obj{"prepend": "x"}}), `normalizer: no "type"`},
		{"pre-tokenizer", mustJSON(t, good, obj{"pre_tokenizer": obj{"type": "Whitespace"}}), `pre_tokenizer: unsupported pre-tokenizer type "Whitespace"`},
		{"unknown regex", mustJSON(t, good, obj{"pre_tokenizer": obj{"type": "Split", "pattern": obj{"Regex": `\w+`}, "behavior": "Isolated"}}), `regex "\\w+" is not supported`},
		{"split behavior", mustJSON(t, good, obj{"pre_tokenizer": obj{"type": "Split", "pattern": obj{"Regex": patternGPT2}, "behavior": "Removed"}}), `behavior "Removed"`},
		{"after ByteLevel", mustJSON(t, good, obj{"pre_tokenizer": obj{"type": "Sequence", "pretokenizers": []any{obj{"type": "ByteLevel"}, obj{"type": "Metaspace", "replacement": "▁"}}}}),
			"pre_tokenizer.pretokenizers[1]: a pre-tokenizer after ByteLevel"},
		{"metaspace scheme", mustJSON(t, good, obj{"pre_tokenizer": obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}}), `"sometimes"`},
		{"decoder", mustJSON(t, good, obj{"decoder": obj{"type": "BPEDecoder"}}), `decoder: unsupported decoder type "BPEDecoder"`},
		{"nested decoder", mustJSON(t, good, obj{"decoder": obj{"type": "Sequence", "decoders": []any{obj{"type": "Fuse"}, obj{"type": "CTC"}}}}), `decoder.decoders[1]: unsupported decoder type "CTC"`},
		{"post-processor", mustJSON(t, good, obj{"post_processor": obj{"type": "Weird"}}), `post_processor: unsupported post-processor type "Weird"`},
		{"template token", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"SpecialToken": obj{"id": "<s>"}}, obj{"Sequence": obj{"id": "A"}}}, "special_tokens": obj{}}}), `special token "<s>" is not in special_tokens`},
		{"template id", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"SpecialToken": obj{"id": "<s>"}}, obj{"Sequence": obj{"id": "A"}}}, "special_tokens": obj{"<s>": obj{"ids": []int{99}}}}}), "token id 99"},
		{"template pair id", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"Sequence": obj{"id": "A"}}}, "pair": []any{obj{"Sequence": obj{"id": "A"}}, obj{"SpecialToken": obj{"id": "<s>"}}, obj{"Sequence": obj{"id": "B"}}},
			"special_tokens": obj{"<s>": obj{"ids": []int{77}}}}}), "token id 77"},
		{"template single B", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"Sequence": obj{"id": "A"}}, obj{"Sequence": obj{"id": "B"}}}, "special_tokens": obj{}}}), "post_processor: the template uses sequence B, but there is no pair"},
		{"template pair without B", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"Sequence": obj{"id": "A"}}}, "pair": []any{obj{"Sequence": obj{"id": "A"}}}, "special_tokens": obj{}}}), "for a pair: sequence B appears 0 times"},
		{"template twice A", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"Sequence": obj{"id": "A"}}, obj{"Sequence": obj{"id": "A"}}}, "special_tokens": obj{}}}), "sequence A appears 2 times"},
		{"template sequence C", mustJSON(t, good, obj{"post_processor": obj{"type": "TemplateProcessing",
			"single": []any{obj{"Sequence": obj{"id": "C"}}}, "special_tokens": obj{}}}), `post_processor.single[0]: sequence "C" is neither A nor B`},
		{"padding id", mustJSON(t, good, obj{"padding": obj{"pad_id": -1}}), "padding: pad_id -1"},
		{"added id clash", mustJSON(t, good, obj{"added_tokens": []any{obj{"id": 2, "content": "<x>"}}}), `added token "<x>" has id 2, which the vocab gives to "ab"`},
		{"added id range", mustJSON(t, good, obj{"added_tokens": []any{obj{"id": -5, "content": "<x>"}}}), "id -5"},
	} {
		_, err := FromJSON(c.data)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(bad, []byte(`{"model": {"type": "BPE", "vocab": {}, "merges": ["x y"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad+": model.merges[0]") {
		t.Errorf("bad file: %v", err)
	}
}
