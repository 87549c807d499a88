package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestSplittersMatchPythonRegex compares the hand-written splitters with the
// splits Python's regex module makes (testdata/gen_split.py).
func TestSplittersMatchPythonRegex(t *testing.T) {
	data, err := os.ReadFile("testdata/split_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []map[string]any
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 300 {
		t.Fatalf("only %d cases", len(cases))
	}
	patterns := map[string]string{"gpt2": patternGPT2, "llama3": patternLlama3, "qwen2": patternQwen2}
	for name, pat := range patterns {
		fn, ok := splitterFor(pat)
		if !ok {
			t.Fatalf("no splitter for %s", name)
		}
		bad := 0
		for i, c := range cases {
			text := c["text"].(string)
			var want []string
			for _, p := range c[name].([]any) {
				want = append(want, p.(string))
			}
			got := collect(fn, text)
			if !slices.Equal(got, want) && bad < 5 {
				bad++
				t.Errorf("%s case %d %q:\n got %q\nwant %q", name, i, text, got, want)
			}
		}
	}
}

func collect(fn func(string, func(string)), s string) []string {
	var out []string
	fn(s, func(w string) { out = append(out, w) })
	return out
}

// TestSplitInvalidUTF8 checks that bytes that are not UTF-8 are kept, each
// counted as one "other" character.
func TestSplitInvalidUTF8(t *testing.T) {
	for _, pat := range []string{patternGPT2, patternLlama3} {
		fn, _ := splitterFor(pat)
		in := "ab\xff\xfe cd \xc3"
		got := collect(fn, in)
		if joined := stringsJoin(got); joined != in {
			t.Fatalf("pieces %q do not rebuild %q", got, in)
		}
		if want := []string{"ab", "\xff\xfe", " cd", " \xc3"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func stringsJoin(p []string) string {
	s := ""
	for _, x := range p {
		s += x
	}
	return s
}
