package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// The pre-tokenizer expectations are those of Hugging Face's
// pre_tokenizers/bert.rs tests.
func TestBertPreTokenizer(t *testing.T) {
	for in, want := range map[string][]string{
		"Hey friend!     How are you?!?": {"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"},
		// after handle_chinese_chars
		" 野  口  里  佳 Noguchi Rika": {"野", "口", "里", "佳", "Noguchi", "Rika"},
		// ASCII symbols count, Unicode symbols do not; Unicode punctuation does
		"$5+x=y^2 a€b «c»d\u00a0e\u3000f": {"$", "5", "+", "x", "=", "y", "^", "2", "a€b", "«", "c", "»", "d", "e", "f"},
		"":                                nil, "  \t ": nil,
	} {
		var got []string
		bertPre{}.split(in, true, func(w string) { got = append(got, w) })
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestBertNormalizer(t *testing.T) {
	uncased := bertNorm{cleanText: true, chinese: true, stripAccents: true, lowercase: true}
	for _, c := range []struct {
		n        bertNorm
		in, want string
	}{
		{uncased, "Héllo\tWORLD\r\n", "hello world  "},
		// NEL, VT and FF are controls before they are whitespace: dropped;
		// LINE SEPARATOR is not a control: a space
		{uncased, "a\u0085b\x0bc\x0cd\u2028e", "abcd e"},
		{uncased, "a\x00b\ufffdc\u200bd\u00ade\xff", "abcde"}, // NUL, U+FFFD, format characters, a byte that is not UTF-8
		{uncased, "中文x", " 中  文 x"},
		{uncased, "İ Σ ß ǅ", "i σ ß ǆ"}, // accents go before lowercasing; Σ has no final form; ß stays
		{bertNorm{cleanText: true, chinese: true, lowercase: true}, "İ", "i\u0307"},
		{bertNorm{cleanText: true, chinese: true, stripAccents: true}, "Ça Va", "Ca Va"},
		{bertNorm{}, "a\x00\u3000中É", "a\x00\u3000中É"},
		{uncased, "が한", "か\u1112\u1161\u11ab"}, // NFD: the voiced mark is Mn (dropped), Hangul jamo are not
		{uncased, "\uf900", " \u8c48 "},        // compatibility ideograph: spaced, then NFD
	} {
		if got := c.n.normalize(c.in); got != c.want {
			t.Errorf("%+v on %q: got %q, want %q", c.n, c.in, got, c.want)
		}
	}
	// strip_accents null follows lowercase; absent booleans take Hugging Face's defaults (true).
	for _, c := range []struct {
		json obj
		want bertNorm
	}{
		{obj{"type": "BertNormalizer"}, uncased},
		{obj{"type": "BertNormalizer", "lowercase": false, "strip_accents": nil}, bertNorm{cleanText: true, chinese: true}},
		{obj{"type": "BertNormalizer", "lowercase": true, "strip_accents": false, "clean_text": false}, bertNorm{chinese: true, lowercase: true}},
		{obj{"type": "BertNormalizer", "lowercase": false, "strip_accents": true, "handle_chinese_chars": false}, bertNorm{cleanText: true, stripAccents: true}},
	} {
		n, err := parseNormalizer(mustMarshal(t, c.json), "normalizer")
		if err != nil || n != c.want {
			t.Errorf("%v: got %+v (%v), want %+v", c.json, n, err, c.want)
		}
	}
}

func TestWordPieceModel(t *testing.T) {
	m := &wordPiece{vocab: map[string]int32{"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "a": 4, "##é": 5, "é": 6},
		unk: 0, prefix: "##", maxChars: 9}
	for in, want := range map[string][]int32{
		"unaffable":  {1, 2, 3},
		"unaffables": {0}, // the last piece has no match: the whole word is [UNK]
		"aé":         {4, 5},
		"éééé":       {6, 5, 5, 5},
		"ééééééééé":  {6, 5, 5, 5, 5, 5, 5, 5, 5}, // 9 characters (18 bytes) is not too long
		"éééééééééé": {0},
		"a\xff":      {0},
		"":           nil,
	} {
		if got := m.encodeWord(in, false, nil); !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", in, got, want)
		}
	}
}

// The decoder expectations are those of Hugging Face's decoders/wordpiece.rs
// test, and of its cleanup rules.
func TestWordPieceDecoder(t *testing.T) {
	for _, c := range []struct {
		d    wordPieceDec
		in   []string
		want string
	}{
		{wordPieceDec{"##", false}, []string{"##uelo", "Ara", "##új", "##o", "No", "##guera"}, "##uelo Araújo Noguera"},
		{wordPieceDec{"##", true}, []string{"i", "do", "not", "like", "it", "'", "s", "fine", ",", "isn", "'", "t", "it", "?"}, "i do not like it ' s fine, isn ' t it?"},
		{wordPieceDec{"##", true}, []string{"don", "n't", "##s", "I", "'m", "."}, "donn'ts I'm."},
		{wordPieceDec{"", false}, []string{"a", "b", "c"}, "abc"},
	} {
		if got := strings.Join(c.d.decode(slices.Clone(c.in)), ""); got != c.want {
			t.Errorf("%+v on %q: got %q, want %q", c.d, c.in, got, c.want)
		}
	}
}
