package tokenizer

import (
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EncodeReader returns Encode of all the text r holds, or with limit > 0
// only its first limit tokens (all of them when there are fewer), reading
// r only as far as those need when the tokenizer allows it (see
// CutsBeforeSpace): text is read in chunks that double, and each chunk
// is tokenized up to its last space that follows a printable ASCII
// character, which is where no token of the whole text can start before
// and end after. Otherwise, or when the text has no such space, r is read
// to the end.
func (t *Tokenizer) EncodeReader(r io.Reader, limit int) ([]int32, error) {
	if limit <= 0 || !t.cutBeforeSpace {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return firstTokens(t.Encode(string(data)), limit), nil
	}
	const minChunk = 64 << 10
	size := minChunk + 8*limit // most tokenizers make 2 to 6 bytes a token
	var buf []byte
	for {
		buf = slices.Grow(buf, size-len(buf))
		n, err := io.ReadFull(r, buf[len(buf):size])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return firstTokens(t.Encode(string(buf)), limit), nil
		case err != nil:
			return nil, err
		}
		if cut := lastCutBeforeSpace(buf); cut > 0 {
			if ids := t.Encode(string(buf[:cut])); len(ids) >= limit {
				return firstTokens(ids, limit), nil
			}
		}
		size *= 2
	}
}

// firstTokens is ids[:limit] in a slice of its own (all of ids when limit
// is not positive or ids is shorter).
func firstTokens(ids []int32, limit int) []int32 {
	if limit <= 0 || len(ids) <= limit {
		return ids
	}
	return slices.Clone(ids[:limit])
}

// lastCutBeforeSpace is the largest i with b[i] == ' ' and b[i-1] a
// printable ASCII character other than space, or 0.
func lastCutBeforeSpace(b []byte) int {
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ' ' && b[i-1] > ' ' && b[i-1] < 0x7f {
			return i
		}
	}
	return 0
}

// CutsBeforeSpace reports whether, for any text whose byte i is a space
// and byte i−1 a printable ASCII character other than space,
// Encode(text[:i]) is a prefix of Encode(text): nothing after the cut
// changes a token before it. It holds when
//   - the normalizer changes text character by character (Prepend, NFC,
//     NFD, NFKC, NFKD, Lowercase, Replace of one character), maps the
//     space to one space-like character and no other character to one;
//   - no added token contains a space-like character (so none spans the
//     cut); and
//   - the pre-tokenizer ends a word at the space (the GPT-2, Llama 3 and
//     Qwen 2 split regexes, ByteLevel with use_regex, Metaspace with
//     split, or a Sequence that starts with one of them), or no merge
//     joins a symbol that does not end in the space's symbol to one that
//     starts with it (SentencePiece-style vocabularies, where only runs
//     of ▁ merge with ▁), with no ignore_merges, subword prefix or word
//     suffix.
//
// Space-like: Unicode white space, ▁ and Ġ. EncodeReader reads only a
// prefix of its input when this holds.
func (t *Tokenizer) CutsBeforeSpace() bool { return t.cutBeforeSpace }

// spaceLike is what this file treats as a space.
func spaceLike(r rune) bool { return unicode.IsSpace(r) || r == '▁' || r == 'Ġ' }

// cutsBeforeSpace computes CutsBeforeSpace for a built tokenizer.
func (t *Tokenizer) cutsBeforeSpace() bool {
	sp, ok := normalizedSpace(t.norm)
	if !ok {
		return false
	}
	for _, m := range []*addedMatcher{t.raw, t.normalized} {
		for _, p := range m.patterns {
			if strings.ContainsFunc(p, spaceLike) {
				return false
			}
		}
	}
	if separatesAt(t.pre, sp) {
		return true
	}
	return t.noMergeAcross(t.preSymbol(t.pre, sp))
}

// normalizedSpace is what n makes of a space, when n is one of the
// character-by-character normalizers that leave the cut where it was.
func normalizedSpace(n normalizer) (rune, bool) {
	sp := ' '
	var walk func(normalizer) bool
	walk = func(n normalizer) bool {
		switch n := n.(type) {
		case nil, prependNorm, unicodeNorm, lowercaseNorm:
			return true
		case sequenceNorm:
			for _, c := range n {
				if !walk(c) {
					return false
				}
			}
			return true
		case replaceNorm:
			if utf8.RuneCountInString(n.old) != 1 {
				return false
			}
			if n.old == string(sp) {
				r, size := utf8.DecodeRuneInString(n.new)
				if size != len(n.new) || !spaceLike(r) {
					return false
				}
				sp = r
				return true
			}
			return !strings.ContainsFunc(n.new, spaceLike)
		}
		return false
	}
	if !walk(n) {
		return 0, false
	}
	return sp, true
}

// separatesAt reports whether p always ends a word before the normalized
// space sp that follows a printable ASCII character.
func separatesAt(p preTokenizer, sp rune) bool {
	switch p := p.(type) {
	case splitPre:
		return sp == ' '
	case byteLevelPre:
		return p.useRegex && sp == ' '
	case metaspacePre:
		return p.cut && (sp == ' ' || string(sp) == p.repl)
	case sequencePre:
		return len(p) > 0 && separatesAt(p[0], sp)
	}
	return false
}

// preSymbol is the symbol the BPE model sees for the normalized space sp
// after p, or "" when that is not one character.
func (t *Tokenizer) preSymbol(p preTokenizer, sp rune) string {
	s := string(sp)
	var walk func(preTokenizer)
	walk = func(p preTokenizer) {
		switch p := p.(type) {
		case sequencePre:
			for _, q := range p {
				walk(q)
			}
		case metaspacePre:
			if s == " " {
				s = p.repl
			}
		case byteLevelPre:
			s = byteLevelString(s)
		}
	}
	walk(p)
	if utf8.RuneCountInString(s) != 1 {
		return ""
	}
	return s
}

// noMergeAcross reports whether the model is BPE that never joins a symbol
// that does not end with sym to one that starts with it, and sym is a
// vocabulary token (so that it is never an unknown or byte-fallback
// symbol). Any other word model is not known to keep words apart.
func (t *Tokenizer) noMergeAcross(sym string) bool {
	m, isBPE := any(t.model).(*bpe)
	if !isBPE || sym == "" || m.ignoreMerges || m.prefix != "" || m.suffix != "" {
		return false
	}
	if _, ok := m.vocab[sym]; !ok {
		return false
	}
	for k := range m.merges {
		a, b := int32(uint32(k>>32)), int32(uint32(k))
		if strings.HasPrefix(t.tokens[b], sym) && !strings.HasSuffix(t.tokens[a], sym) {
			return false
		}
	}
	return true
}
