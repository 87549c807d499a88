package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestReferenceWordPiece checks random texts under five BertNormalizer
// settings, single and in truncated pairs, against testdata/wordpiece/
// cases.json, made by the independent Python reference gen_wordpiece.py.
func TestReferenceWordPiece(t *testing.T) {
	data, err := os.ReadFile("testdata/wordpiece/tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	casesData, err := os.ReadFile("testdata/wordpiece/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Normalizer json.RawMessage
		Text       string
		Pair       *string
		MaxLength  int `json:"max_length"`
		IDs        []int32
		TypeIDs    []int32 `json:"type_ids"`
		Decoded    string
	}
	if err := json.Unmarshal(casesData, &cases); err != nil {
		t.Fatal(err)
	}
	toks := map[string]*Tokenizer{}
	for i, c := range cases {
		key := string(c.Normalizer)
		tok := toks[key]
		if tok == nil {
			var cfg obj
			if err := json.Unmarshal(c.Normalizer, &cfg); err != nil {
				t.Fatal(err)
			}
			cfg["type"] = "BertNormalizer"
			file["normalizer"] = mustMarshal(t, cfg)
			if tok, err = FromJSON(mustMarshal(t, file)); err != nil {
				t.Fatal(err)
			}
			toks[key] = tok
		}
		if c.Pair == nil {
			if got := tok.EncodeSpecial(c.Text); !slices.Equal(got, c.IDs) {
				t.Errorf("case %d %s %q:\n got %v\nwant %v", i, key, c.Text, got, c.IDs)
			}
			if got := tok.DecodeWith(c.IDs, DecodeOptions{SkipSpecial: true}); got != c.Decoded {
				t.Errorf("case %d: decoded %q, want %q", i, got, c.Decoded)
			}
			continue
		}
		e, err := tok.EncodeTextPair(c.Text, *c.Pair, EncodeOptions{AddSpecial: true}, Truncation{MaxLength: c.MaxLength})
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if !slices.Equal(e.IDs, c.IDs) || !slices.Equal(e.TypeIDs, c.TypeIDs) {
			t.Errorf("case %d %s %q + %q max %d:\n got %v %v\nwant %v %v", i, key, c.Text, *c.Pair, c.MaxLength, e.IDs, e.TypeIDs, c.IDs, c.TypeIDs)
		}
	}
	if len(toks) != 5 || len(cases) != 300 {
		t.Fatalf("%d settings and %d cases, want 5 and 300", len(toks), len(cases))
	}
}

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
