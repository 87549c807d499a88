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
