package tokenizer

import "strings"

// Tokenizer encodes text to token ids and back, as described by a Hugging Face
// tokenizer.json. It is immutable after loading and safe for concurrent use.
type Tokenizer struct {
	model     wordModel
	norm      normalizer   // nil: none
	pre       preTokenizer // nil: the whole piece is one word
	byteLevel bool         // the pre-tokenizer ends with ByteLevel
	dec       decoder      // nil: tokens joined with spaces
	post      postProcessor

	raw        *addedMatcher // added tokens matched in the raw text
	normalized *addedMatcher // added tokens matched after normalization
	added      map[string]int32

	tokens   []string // by id
	kinds    []uint8  // by id: kindNone, kindModel, kindAdded or kindSpecial
	bos, eos int32    // -1 when unknown
	padID    int32    // from tokenizer.json's padding block; -1 without one

	cutBeforeSpace bool // see CutsBeforeSpace
}

const (
	kindNone uint8 = iota
	kindModel
	kindAdded
	kindSpecial
)

// EncodeOptions control EncodeWith.
type EncodeOptions struct {
	// AddSpecial adds the post-processor's special tokens (e.g. Llama 2's BOS),
	// like Hugging Face's add_special_tokens=True.
	AddSpecial bool
	// LiteralSpecial encodes special tokens written in the text as ordinary text
	// instead of as their ids (Hugging Face's encode_special_tokens).
	LiteralSpecial bool
}

// DecodeOptions control DecodeWith.
type DecodeOptions struct {
	// SkipSpecial drops special tokens (BOS, EOS, ...) from the text.
	SkipSpecial bool
}

// Encode returns the ids of text without adding special tokens; special tokens
// written in the text are recognised, as Hugging Face does.
func (t *Tokenizer) Encode(text string) []int32 { return t.EncodeWith(text, EncodeOptions{}) }

// EncodeSpecial is Encode with the post-processor's special tokens added.
func (t *Tokenizer) EncodeSpecial(text string) []int32 {
	return t.EncodeWith(text, EncodeOptions{AddSpecial: true})
}

// EncodeWith returns the ids of text.
func (t *Tokenizer) EncodeWith(text string, o EncodeOptions) []int32 {
	ids := make([]int32, 0, len(text)/4+len(t.post.prefix)+len(t.post.suffix)+1)
	if o.AddSpecial {
		ids = append(ids, t.post.prefix...)
	}
	t.raw.split(text, o.LiteralSpecial, func(seg string, off int, tok *addedToken) {
		if tok != nil {
			ids = append(ids, tok.ID)
			return
		}
		if t.norm != nil {
			seg = t.norm.normalize(seg)
		}
		t.normalized.split(seg, o.LiteralSpecial, func(piece string, off2 int, tok *addedToken) {
			if tok != nil {
				ids = append(ids, tok.ID)
				return
			}
			if t.pre == nil {
				ids = t.model.encodeWord(piece, false, ids)
				return
			}
			t.pre.split(piece, off == 0 && off2 == 0, func(w string) {
				ids = t.model.encodeWord(w, t.byteLevel, ids)
			})
		})
	})
	if o.AddSpecial {
		ids = append(ids, t.post.suffix...)
	}
	return ids
}

// Decode returns the text of ids, special tokens included; ids outside the
// vocabulary are skipped. See the package comment on invalid UTF-8.
func (t *Tokenizer) Decode(ids []int32) string { return t.DecodeWith(ids, DecodeOptions{}) }

// DecodeWith returns the text of ids.
func (t *Tokenizer) DecodeWith(ids []int32, o DecodeOptions) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		k := t.kind(id)
		if k == kindNone || o.SkipSpecial && k == kindSpecial {
			continue
		}
		toks = append(toks, t.tokens[id])
	}
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.decode(toks), "")
}

func (t *Tokenizer) kind(id int32) uint8 {
	if id < 0 || int(id) >= len(t.kinds) {
		return kindNone
	}
	return t.kinds[id]
}

// VocabSize is one more than the largest token id (model vocabulary and added
// tokens), i.e. the number of rows an embedding matrix needs.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenID returns the id of a token string (an added token or a vocabulary
// entry, in its stored form: "Ġthe" for GPT-2, "▁the" for Llama).
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	if id, ok := t.added[s]; ok {
		return id, true
	}
	id, ok := t.model.vocabulary()[s]
	return id, ok
}

// Token returns the string of a token id.
func (t *Tokenizer) Token(id int32) (string, bool) {
	if t.kind(id) == kindNone {
		return "", false
	}
	return t.tokens[id], true
}

// IsSpecial reports whether id is a special token.
func (t *Tokenizer) IsSpecial(id int32) bool { return t.kind(id) == kindSpecial }

// BOS returns the beginning-of-sequence token: the special token the
// post-processor puts first, else a special token with a well-known name
// (<s>, <|begin_of_text|>, <|startoftext|>, <|endoftext|>). tokenizer.json does
// not record it directly; a model's config.json bos_token_id is authoritative.
func (t *Tokenizer) BOS() (int32, bool) { return t.bos, t.bos >= 0 }

// EOS returns the end-of-sequence token found by name (</s>, <|end_of_text|>,
// <|endoftext|>); see BOS.
func (t *Tokenizer) EOS() (int32, bool) { return t.eos, t.eos >= 0 }
