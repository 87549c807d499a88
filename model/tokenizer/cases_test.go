package tokenizer

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestSharedCases checks the 47 + 47 reference tokenizations from llama.cpp's
// test set (made with Hugging Face's tokenizers), and that decoding them gives
// the text back.
func TestSharedCases(t *testing.T) {
	for _, name := range []string{"gpt2", "llama2"} {
		t.Run(name, func(t *testing.T) {
			tok := sharedTokenizer(t, filepath.Join("tokenizers", name, "tokenizer.json"))
			cases := readCases(t, filepath.Join(sharedDir(t), "tokenizers", name, "cases.jsonl"))
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
