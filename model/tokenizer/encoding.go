package tokenizer

import (
	"errors"
	"fmt"
)

// Encoding is one input (a sequence or a pair of sequences) encoded for a
// model, as Hugging Face's Encoding: the token ids, their token type
// (segment) ids, and the attention mask, 1 for a token and 0 for padding
// (see Pad). The three have one length.
type Encoding struct {
	IDs           []int32
	TypeIDs       []int32
	AttentionMask []int32
}

// TruncationStrategy says which sequence of a pair gives up tokens.
type TruncationStrategy int

// The truncation strategies of Hugging Face.
const (
	// LongestFirst shortens the longer sequence first; when both must be cut,
	// each keeps half of the room (the second one the odd token).
	LongestFirst TruncationStrategy = iota
	// OnlyFirst shortens only the first sequence.
	OnlyFirst
	// OnlySecond shortens only the second sequence of a pair.
	OnlySecond
)

// Truncation limits the length of an encoding, as Hugging Face's truncation
// parameters (without stride and overflowing encodings).
type Truncation struct {
	// MaxLength is the most tokens the encoding may have, the special tokens
	// the post-processor adds included; 0 means no limit.
	MaxLength int
	// Strategy chooses the sequence to shorten (LongestFirst by default).
	Strategy TruncationStrategy
	// Left drops tokens from the start of a sequence instead of its end.
	Left bool
}

// EncodePair returns the ids and the type ids of the pair (a, b) with the
// post-processor's special tokens, as Hugging Face's encode(a, b): for BERT
// [CLS] a [SEP] b [SEP] with type ids 0 up to the first [SEP] and 1 after it,
// for RoBERTa <s> a </s></s> b </s> with type ids 0.
func (t *Tokenizer) EncodePair(a, b string) (ids, typeIDs []int32) {
	e := t.assemble(t.post.pairSpecial, [][]int32{t.Encode(a), t.Encode(b)})
	return e.IDs, e.TypeIDs
}

// EncodeText encodes one sequence with its type ids and attention mask,
// truncated by tr. Options as for EncodeWith.
func (t *Tokenizer) EncodeText(text string, o EncodeOptions, tr Truncation) (Encoding, error) {
	return t.encodeSequences([]string{text}, o, tr)
}

// EncodeTextPair encodes a pair of sequences (a sentence pair for a
// classifier, a question and its context, ...) with their type ids and
// attention mask, truncated by tr. Options as for EncodeWith.
func (t *Tokenizer) EncodeTextPair(a, b string, o EncodeOptions, tr Truncation) (Encoding, error) {
	return t.encodeSequences([]string{a, b}, o, tr)
}

func (t *Tokenizer) encodeSequences(texts []string, o EncodeOptions, tr Truncation) (Encoding, error) {
	seqs := make([][]int32, len(texts))
	for i, s := range texts {
		seqs[i] = t.EncodeWith(s, EncodeOptions{LiteralSpecial: o.LiteralSpecial})
	}
	l := t.post.single
	switch {
	case len(texts) == 1 && o.AddSpecial:
		l = t.post.singleSpecial
	case len(texts) == 2 && o.AddSpecial:
		l = t.post.pairSpecial
	case len(texts) == 2:
		l = t.post.pair
	}
	if tr.MaxLength > 0 {
		if err := truncate(seqs, tr, l.specialIDs()); err != nil {
			return Encoding{}, err
		}
	}
	return t.assemble(l, seqs), nil
}

// assemble puts the sequences and the special tokens of l together.
func (t *Tokenizer) assemble(l layout, seqs [][]int32) Encoding {
	n := l.specialIDs()
	for _, s := range seqs {
		n += len(s)
	}
	e := Encoding{IDs: make([]int32, 0, n), TypeIDs: make([]int32, 0, n), AttentionMask: make([]int32, n)}
	for _, pc := range l {
		ids := pc.ids
		if pc.seq != seqSpecial {
			ids = seqs[pc.seq]
		}
		e.IDs = append(e.IDs, ids...)
		for range ids {
			e.TypeIDs = append(e.TypeIDs, pc.typeID)
		}
	}
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	return e
}

// truncate shortens seqs (one or two) in place so that, with nSpecial special
// tokens, they fit tr.MaxLength, as Hugging Face's truncate_encodings.
func truncate(seqs [][]int32, tr Truncation, nSpecial int) error {
	if tr.MaxLength < nSpecial {
		return fmt.Errorf("truncation: max length %d is less than the %d special tokens the post-processor adds", tr.MaxLength, nSpecial)
	}
	budget := tr.MaxLength - nSpecial
	keep := func(i, n int) {
		if tr.Left {
			seqs[i] = seqs[i][len(seqs[i])-n:]
		} else {
			seqs[i] = seqs[i][:n]
		}
	}
	total := 0
	for _, s := range seqs {
		total += len(s)
	}
	switch {
	case budget == 0: // Hugging Face empties every sequence
		for i := range seqs {
			keep(i, 0)
		}
		return nil
	case total <= budget:
		return nil
	}
	switch tr.Strategy {
	case LongestFirst:
		if len(seqs) == 1 {
			keep(0, budget)
			return nil
		}
		n1, n2 := longestFirst(len(seqs[0]), len(seqs[1]), budget)
		keep(0, n1)
		keep(1, n2)
		return nil
	case OnlyFirst, OnlySecond:
		i := 0
		if tr.Strategy == OnlySecond {
			if len(seqs) < 2 {
				return errors.New("truncation: only_second needs a pair of sequences")
			}
			i = 1
		}
		remove := total - budget
		if len(seqs[i]) <= remove {
			return fmt.Errorf("truncation: sequence %d has %d tokens, too few to remove %d and fit max length %d", i+1, len(seqs[i]), remove, tr.MaxLength)
		}
		keep(i, len(seqs[i])-remove)
		return nil
	}
	return fmt.Errorf("truncation: unknown strategy %d", tr.Strategy)
}

// longestFirst returns the lengths a pair of lengths a and b keeps under
// LongestFirst with room for room tokens: the shorter one is kept whole when
// the longer one can take the rest; otherwise each gets room/2, the second
// the odd token (utils/truncation.rs).
func longestFirst(a, b, room int) (int, int) {
	n1, n2, swap := a, b, a > b
	if swap {
		n1, n2 = b, a
	}
	if n1 > room {
		n2 = n1
	} else {
		n2 = max(n1, room-n1)
	}
	if n1+n2 > room {
		n1 = room / 2
		n2 = n1 + room%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return min(n1, a), min(n2, b)
}
