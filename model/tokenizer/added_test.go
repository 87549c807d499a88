package tokenizer

import (
	"slices"
	"testing"
)

type seg struct {
	text string
	tok  string // content of the added token, "" for plain text
}

func splitAdded(m *addedMatcher, s string) []seg {
	var out []seg
	m.split(s, false, func(text string, _ int, tok *addedToken) {
		c := ""
		if tok != nil {
			c = tok.Content
		}
		out = append(out, seg{text, c})
	})
	return out
}

func matcher(toks ...*addedToken) *addedMatcher {
	var pats []string
	for _, t := range toks {
		pats = append(pats, t.Content)
	}
	return newAddedMatcher(pats, toks)
}

// The expectations are those of Hugging Face's AddedVocabulary tests
// (tokenizers/src/tokenizer/added_vocabulary.rs), on lower-case input since
// their normalizer lower-cases.
func TestAddedTokenOptions(t *testing.T) {
	m := matcher(&addedToken{Content: "my", LStrip: true, RStrip: true}, &addedToken{Content: "name"},
		&addedToken{Content: "ony", SingleWord: true}, &addedToken{Content: "[CLS]", Special: true},
		&addedToken{Content: "[SEP]", Special: true})
	want := []seg{{"[CLS]", "[CLS]"}, {" my ", "my"}, {"name", "name"}, {" is anthony ", ""}, {"[SEP]", "[SEP]"}}
	if got := splitAdded(m, "[CLS] my name is anthony [SEP]"); !slices.Equal(got, want) {
		t.Errorf("options:\n got %q\nwant %q", got, want)
	}

	m = matcher(&addedToken{Content: "<mask>", SingleWord: true})
	want = []seg{{"<mask>", "<mask>"}, {" my name ", ""}, {"<mask>", "<mask>"}, {" a<mask> <mask>ony ", ""}, {"<mask>", "<mask>"}}
	if got := splitAdded(m, "<mask> my name <mask> a<mask> <mask>ony <mask>"); !slices.Equal(got, want) {
		t.Errorf("single_word:\n got %q\nwant %q", got, want)
	}
	want = []seg{{"<mask>", "<mask>"}, {", ", ""}, {"<mask>", "<mask>"}, {"- ◌̰<mask>", ""}}
	if got := splitAdded(m, "<mask>, <mask>- ◌̰<mask>"); !slices.Equal(got, want) {
		t.Errorf("single_word unicode:\n got %q\nwant %q", got, want)
	}

	m = matcher(&addedToken{Content: "<mask>", LStrip: true, RStrip: true, SingleWord: true})
	want = []seg{{"hi", ""}, {" <mask> ", "<mask>"}, {"there", ""}, {"\t<mask>\t", "<mask>"}, {"<mask>\u2000", "<mask>"}}
	if got := splitAdded(m, "hi <mask> there\t<mask>\t<mask>\u2000"); !slices.Equal(got, want) {
		t.Errorf("lstrip unicode space:\n got %q\nwant %q", got, want)
	}

	// Leftmost-longest: the longer of two tokens starting at one place wins.
	m = matcher(&addedToken{Content: "<a>"}, &addedToken{Content: "<a><b>"})
	want = []seg{{"x", ""}, {"<a><b>", "<a><b>"}, {"<a>", "<a>"}}
	if got := splitAdded(m, "x<a><b><a>"); !slices.Equal(got, want) {
		t.Errorf("longest:\n got %q\nwant %q", got, want)
	}
}

func TestSpecialTokens(t *testing.T) {
	gpt2 := sharedTokenizer(t, "tokenizers/gpt2/tokenizer.json")
	llama2 := sharedTokenizer(t, "tokenizers/llama2/tokenizer.json")
	a, b := gpt2.Encode("a"), gpt2.Encode("b")
	if got := gpt2.Encode("a<|endoftext|>b"); !slices.Equal(got, slices.Concat(a, []int32{50256}, b)) {
		t.Errorf("gpt2 special in text: %v", got)
	}
	lit := gpt2.EncodeWith("a<|endoftext|>b", EncodeOptions{LiteralSpecial: true})
	if slices.Contains(lit, 50256) || gpt2.Decode(lit) != "a<|endoftext|>b" {
		t.Errorf("gpt2 literal special: %v", lit)
	}
	// GPT-2's post-processor (ByteLevel) adds nothing.
	if got := gpt2.EncodeSpecial("Hello world"); !slices.Equal(got, []int32{15496, 995}) {
		t.Errorf("gpt2 EncodeSpecial = %v", got)
	}
	// Llama 2's template adds BOS; specials in the text are split out before
	// normalization, so the text after them gets its own ▁.
	if got := llama2.EncodeSpecial("Hello world"); !slices.Equal(got, []int32{1, 15043, 3186}) {
		t.Errorf("llama2 EncodeSpecial = %v, want [1 15043 3186]", got)
	}
	if got := llama2.Encode("<s>Hello</s>"); !slices.Equal(got, []int32{1, 15043, 2}) {
		t.Errorf("llama2 Encode(<s>Hello</s>) = %v, want [1 15043 2]", got)
	}
	ids := []int32{1, 15043, 3186, 2}
	if got := llama2.Decode(ids); got != "<s> Hello world</s>" {
		t.Errorf("llama2 Decode = %q", got)
	}
	if got := llama2.DecodeWith(ids, DecodeOptions{SkipSpecial: true}); got != "Hello world" {
		t.Errorf("llama2 Decode skipping specials = %q", got)
	}
	for _, c := range []struct {
		tok      *Tokenizer
		bos, eos int32
	}{{gpt2, 50256, 50256}, {llama2, 1, 2}} {
		bos, ok1 := c.tok.BOS()
		eos, ok2 := c.tok.EOS()
		if !ok1 || !ok2 || bos != c.bos || eos != c.eos {
			t.Errorf("BOS, EOS = %d %v, %d %v; want %d, %d", bos, ok1, eos, ok2, c.bos, c.eos)
		}
		if !c.tok.IsSpecial(c.bos) || c.tok.IsSpecial(15043) {
			t.Error("IsSpecial wrong")
		}
	}
	if gpt2.VocabSize() != 50257 || llama2.VocabSize() != 32000 {
		t.Errorf("VocabSize = %d, %d", gpt2.VocabSize(), llama2.VocabSize())
	}
	for _, c := range []struct {
		tok *Tokenizer
		s   string
		id  int32
	}{{gpt2, "Ġworld", 995}, {gpt2, "<|endoftext|>", 50256}, {llama2, "▁Hello", 15043}, {llama2, "<0x0A>", 13}} {
		if id, ok := c.tok.TokenID(c.s); !ok || id != c.id {
			t.Errorf("TokenID(%q) = %d %v, want %d", c.s, id, ok, c.id)
		}
		if s, ok := c.tok.Token(c.id); !ok || s != c.s {
			t.Errorf("Token(%d) = %q %v, want %q", c.id, s, ok, c.s)
		}
	}
	if _, ok := gpt2.TokenID("no such token"); ok {
		t.Error("TokenID found a missing token")
	}
	if _, ok := gpt2.Token(50257); ok {
		t.Error("Token found an id past the vocabulary")
	}
	if got := gpt2.Decode([]int32{15496, -1, 1 << 30, 995}); got != "Hello world" {
		t.Errorf("Decode with out-of-range ids = %q", got)
	}
}
