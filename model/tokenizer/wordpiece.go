package tokenizer

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// A wordModel turns one pre-tokenized word into token ids: BPE or WordPiece.
type wordModel interface {
	// encodeWord appends the ids of word to dst. With byteLevel the word is
	// raw bytes that stand for their byte-level characters (BPE only).
	encodeWord(word string, byteLevel bool, dst []int32) []int32
	// vocabulary is the model's token → id table.
	vocabulary() map[string]int32
}

func (m *bpe) vocabulary() map[string]int32 { return m.vocab }

// wordPiece is BERT's WordPiece model (Hugging Face's models/wordpiece): each
// word is cut greedily into the longest vocabulary entries from the left, the
// pieces after the first carrying the continuing-subword prefix ("##"). A word
// that cannot be cut so, or that is longer than maxChars characters, becomes
// one unk token.
type wordPiece struct {
	vocab    map[string]int32
	unk      int32
	prefix   string
	maxChars int
}

func (m *wordPiece) vocabulary() map[string]int32 { return m.vocab }

func (m *wordPiece) encodeWord(word string, _ bool, dst []int32) []int32 {
	if word == "" {
		return dst
	}
	if utf8.RuneCountInString(word) > m.maxChars {
		return append(dst, m.unk)
	}
	start := len(dst)
	var buf []byte // prefix + candidate, looked up without allocating
	for pos := 0; pos < len(word); {
		end, id := len(word), int32(-1)
		for end > pos {
			var ok bool
			if pos == 0 {
				id, ok = m.vocab[word[:end]]
			} else {
				buf = append(append(buf[:0], m.prefix...), word[pos:end]...)
				id, ok = m.vocab[string(buf)]
			}
			if ok {
				break
			}
			// Shrink by one character. Hugging Face steps back by the last
			// character of the candidate; on invalid UTF-8 that is one byte.
			_, n := utf8.DecodeLastRuneInString(word[pos:end])
			end -= n
		}
		if end == pos { // no piece starts here: the whole word is unknown
			return append(dst[:start], m.unk)
		}
		dst = append(dst, id)
		pos = end
	}
	return dst
}

// parseWordPiece reads a WordPiece model. Hugging Face requires all four
// fields; the unk token must be in the vocabulary (Hugging Face fails when
// encoding a word that needs it, which lopper's Encode cannot report).
func parseWordPiece(raw json.RawMessage) (*wordPiece, error) {
	var c struct {
		UnkToken *string          `json:"unk_token"`
		Prefix   *string          `json:"continuing_subword_prefix"`
		MaxChars *int             `json:"max_input_chars_per_word"`
		Vocab    map[string]int32 `json:"vocab"`
	}
	if err := decodeComponent(raw, "model", &c); err != nil {
		return nil, err
	}
	switch {
	case c.UnkToken == nil:
		return nil, fmt.Errorf("model: WordPiece without \"unk_token\"")
	case c.Prefix == nil:
		return nil, fmt.Errorf("model: WordPiece without \"continuing_subword_prefix\"")
	case c.MaxChars == nil || *c.MaxChars < 0:
		return nil, fmt.Errorf("model: WordPiece needs \"max_input_chars_per_word\" >= 0")
	case c.Vocab == nil:
		return nil, fmt.Errorf("model: WordPiece without \"vocab\"")
	}
	if err := checkVocabIDs(c.Vocab); err != nil {
		return nil, err
	}
	unk, ok := c.Vocab[*c.UnkToken]
	if !ok {
		return nil, fmt.Errorf("model: WordPiece unk_token %q is not in the vocab", *c.UnkToken)
	}
	return &wordPiece{vocab: c.Vocab, unk: unk, prefix: *c.Prefix, maxChars: *c.MaxChars}, nil
}

// checkVocabIDs refuses ids that are negative or absurdly large.
func checkVocabIDs(vocab map[string]int32) error {
	for tok, id := range vocab {
		if id < 0 || id >= maxID {
			return fmt.Errorf("model.vocab: token %q has id %d, outside [0, %d)", tok, id, maxID)
		}
	}
	return nil
}
