package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

// TestSharedCases checks the 47 + 47 reference tokenizations from llama.cpp's
// test set (made with Hugging Face's tokenizers), and that decoding them gives
// the text back.
func TestSharedCases(t *testing.T) {
	for _, name := range []string{"gpt2", "llama2"} {
		t.Run(name, func(t *testing.T) {
			tok := sharedTokenizer(t, filepath.Join("tokenizers", name, "tokenizer.json"))
			cases := readCases(t, sharedtest.Path(t, "tokenizers", name, "cases.jsonl"))
			if len(cases) != 47 {
				t.Fatalf("%d cases, want 47", len(cases))
			}
			for i, c := range cases {
				got := tok.Encode(c.Text)
				if !slices.Equal(got, c.IDs) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, c.Text, got, c.IDs)
				}
				if back := tok.Decode(c.IDs); back != c.Text {
					t.Errorf("case %d: Decode = %q, want %q", i, back, c.Text)
				}
			}
		})
	}
}

// TestReferenceBPE checks random texts against testdata/bpe_cases.json, made by
// an independent Python implementation of the GPT-2 and Llama 2 pipelines
// (testdata/gen_bpe.py, which first checks itself on the shared cases). Two of
// the texts are long enough that Llama 2 merges a single word of thousands of
// symbols. (Llama 2 decodes a literal ▁ as a space, so those texts do not
// round-trip, in Hugging Face either.)
func TestReferenceBPE(t *testing.T) {
	data, err := os.ReadFile("testdata/bpe_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text   string  `json:"text"`
		GPT2   []int32 `json:"gpt2"`
		Llama2 []int32 `json:"llama2"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	gpt2 := sharedTokenizer(t, "tokenizers/gpt2/tokenizer.json")
	llama2 := sharedTokenizer(t, "tokenizers/llama2/tokenizer.json")
	for i, c := range cases {
		for _, k := range []struct {
			name string
			tok  *Tokenizer
			want []int32
		}{{"gpt2", gpt2, c.GPT2}, {"llama2", llama2, c.Llama2}} {
			got := k.tok.Encode(c.Text)
			if !slices.Equal(got, k.want) {
				t.Errorf("%s case %d %q:\n got %v\nwant %v", k.name, i, c.Text, got, k.want)
			}
			if back := k.tok.Decode(got); back != c.Text && !(k.name == "llama2" && strings.Contains(c.Text, "▁")) {
				t.Errorf("%s case %d: Decode = %q, want %q", k.name, i, back, c.Text)
			}
		}
	}
}
