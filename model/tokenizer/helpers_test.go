package tokenizer

import (
	"encoding/json"
	"testing"
)

// obj is a JSON object for building tokenizer.json files in tests.
type obj = map[string]any

// bpeJSON is a BPE model with the given vocab (token → id) and merges.
func bpeJSON(vocab obj, merges []any, extra obj) obj {
	m := obj{"type": "BPE", "vocab": vocab, "merges": merges}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// wordPieceJSON is a WordPiece model with Hugging Face's default settings.
func wordPieceJSON(vocab obj) obj {
	return obj{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}
}

// newTestTokenizer makes a tokenizer from a model and optional top-level fields.
func newTestTokenizer(tb testing.TB, model obj, top obj) *Tokenizer {
	tb.Helper()
	tok, err := FromJSON(mustJSON(tb, model, top))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func mustJSON(tb testing.TB, model obj, top obj) []byte {
	tb.Helper()
	f := obj{"model": model}
	for k, v := range top {
		f[k] = v
	}
	data, err := json.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
