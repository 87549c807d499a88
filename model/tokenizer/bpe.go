package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// bpe is a byte-pair-encoding model: it turns one word into token ids.
type bpe struct {
	vocab   map[string]int32
	merges  map[uint64]mergeRule
	inMerge []bool // by id: the token is part of some merge

	unk          int32 // id of unk_token, -1 without one
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix

	fallbackIDs [256]int32 // ids of the <0xXX> tokens, -1 where absent
	// byteIDs[b] is the id of byte b's byte-level character. fastBytes is set
	// when all 256 exist and no prefix or suffix applies, so that byte-level words
	// go straight from bytes to ids.
	byteIDs   [256]int32
	fastBytes bool

	cache *wordCache
}

func newBPE(vocab map[string]int32, unkToken *string) *bpe {
	m := &bpe{vocab: vocab, merges: map[uint64]mergeRule{}, unk: -1, cache: newWordCache(wordCacheCapacity)}
	if unkToken != nil {
		// An unk_token missing from the vocab is accepted, as Hugging Face accepts
		// it; characters it would stand for are then dropped (Hugging Face fails
		// on them when encoding).
		m.unk = lookup(vocab, *unkToken)
	}
	for b := range 256 {
		m.fallbackIDs[b] = lookup(vocab, fmt.Sprintf("<0x%02X>", b))
		m.byteIDs[b] = lookup(vocab, byteToStr[b])
	}
	return m
}

// addMerges resolves the merges to ids; call after prefix is set. A later
// duplicate of a pair replaces the earlier one, as in Hugging Face.
func (m *bpe) addMerges(merges []merge) error {
	m.merges = make(map[uint64]mergeRule, len(merges))
	size := 0
	for _, id := range m.vocab {
		size = max(size, int(id)+1)
	}
	m.inMerge = make([]bool, size)
	for rank, p := range merges {
		if !strings.HasPrefix(p[1], m.prefix) {
			return fmt.Errorf("model.merges[%d] %q + %q: the right token lacks continuing_subword_prefix %q", rank, p[0], p[1], m.prefix)
		}
		a, ok1 := m.vocab[p[0]]
		b, ok2 := m.vocab[p[1]]
		merged := p[0] + p[1][len(m.prefix):]
		id, ok3 := m.vocab[merged]
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("model.merges[%d] %q + %q: token %q is not in the vocab", rank, p[0], p[1], firstMissing(m.vocab, p[0], p[1], merged))
		}
		m.merges[pairKey(a, b)] = mergeRule{int32(rank), id}
		m.inMerge[a], m.inMerge[b] = true, true
	}
	m.fastBytes = m.prefix == "" && m.suffix == ""
	for _, id := range m.byteIDs {
		m.fastBytes = m.fastBytes && id >= 0
	}
	return nil
}

// inert reports whether id takes part in no merge.
func (m *bpe) inert(id int32) bool { return int(id) >= len(m.inMerge) || !m.inMerge[id] }

func firstMissing(vocab map[string]int32, toks ...string) string {
	for _, t := range toks {
		if _, ok := vocab[t]; !ok {
			return t
		}
	}
	return toks[len(toks)-1]
}

func lookup(vocab map[string]int32, s string) int32 {
	if id, ok := vocab[s]; ok {
		return id
	}
	return -1
}

// encodeWord appends the ids of word to dst. With byteLevel the word is raw
// bytes that stand for their byte-level characters.
func (m *bpe) encodeWord(word string, byteLevel bool, dst []int32) []int32 {
	if word == "" {
		return dst
	}
	if ids, ok := m.cache.get(word); ok {
		return append(dst, ids...)
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	start := len(dst)
	text := word
	if byteLevel && !m.fastBytes {
		text, byteLevel = byteLevelString(word), false
	}
	if m.ignoreMerges { // a word that is itself a token is taken whole
		var id int32
		var ok bool
		if byteLevel {
			sc.buf = sc.buf[:0]
			for i := 0; i < len(word); i++ {
				sc.buf = append(sc.buf, byteToStr[word[i]]...)
			}
			id, ok = m.vocab[string(sc.buf)]
		} else {
			id, ok = m.vocab[text]
		}
		if ok {
			return append(dst, id)
		}
	}
	if byteLevel {
		sc.syms = sc.syms[:0]
		for i := 0; i < len(word); i++ {
			sc.syms = appendSymbol(sc.syms, m.byteIDs[word[i]])
		}
	} else {
		m.wordSymbols(text, sc)
	}
	dst = mergeAll(m, sc, dst)
	if len(word) < maxCachedWordLen {
		m.cache.put(word, dst[start:])
	}
	return dst
}

func appendSymbol(syms []symbol, id int32) []symbol {
	n := int32(len(syms))
	if n > 0 {
		syms[n-1].next = n
	}
	return append(syms, symbol{id: id, prev: n - 1, next: -1})
}

// wordSymbols fills sc.syms with the initial symbols of word, one per
// character: its vocab id or, failing that, its <0xXX> byte tokens (with
// byte_fallback) or unk (consecutive unks fused with fuse_unk). A character
// with none of these is dropped, as Hugging Face drops it.
func (m *bpe) wordSymbols(word string, sc *scratch) {
	sc.syms = sc.syms[:0]
	pendingUnk := false
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		ch := word[i : i+n]
		if m.prefix != "" && i > 0 {
			ch = m.prefix + ch
		}
		if m.suffix != "" && i+n == len(word) {
			ch += m.suffix
		}
		i += n
		if id, ok := m.vocab[ch]; ok {
			if pendingUnk { // flushed here but not before byte tokens, as in Hugging Face
				sc.syms, pendingUnk = appendSymbol(sc.syms, m.unk), false
			}
			sc.syms = appendSymbol(sc.syms, id)
			continue
		}
		if m.byteFallback && m.appendFallback(sc, ch) {
			continue
		}
		if m.unk >= 0 {
			if pendingUnk && !m.fuseUnk {
				sc.syms = appendSymbol(sc.syms, m.unk)
			}
			pendingUnk = true
		}
	}
	if pendingUnk {
		sc.syms = appendSymbol(sc.syms, m.unk)
	}
}

// appendFallback appends the <0xXX> tokens of ch's bytes if all exist.
func (m *bpe) appendFallback(sc *scratch, ch string) bool {
	for i := 0; i < len(ch); i++ {
		if m.fallbackIDs[ch[i]] < 0 {
			return false
		}
	}
	for i := 0; i < len(ch); i++ {
		sc.syms = appendSymbol(sc.syms, m.fallbackIDs[ch[i]])
	}
	return true
}
