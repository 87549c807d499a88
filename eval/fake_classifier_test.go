package eval

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"lopper/model/tokenizer"
)

// Word lists of the rule classifiers below.
var (
	positiveWords = []string{"good", "great", "fine", "fun"}
	negativeWords = []string{"bad", "awful", "dull", "weak"}
	otherWords    = []string{"the", "film", "plot", "was", "and", "but", "not", "very", "a", "b", "c", "d"}
)

// bertTokenizer is a BERT-style WordPiece tokenizer over the word lists:
// [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, then the words; lowercasing, splitting
// at spaces and punctuation, [CLS] A [SEP] (B [SEP]) with type ids.
func bertTokenizer(tb testing.TB) *tokenizer.Tokenizer {
	tb.Helper()
	vocab := map[string]int{}
	var added []any
	for i, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"} {
		vocab[s] = i
		added = append(added, map[string]any{"id": i, "content": s, "special": true})
	}
	for _, w := range slices.Concat(positiveWords, negativeWords, otherWords) {
		vocab[w] = len(vocab)
	}
	doc := map[string]any{
		"added_tokens":   added,
		"normalizer":     map[string]any{"type": "BertNormalizer", "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(data)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// ruleClassifier scores the words of each input with rule, which sees the
// first segment's words and the second's (type id 1). Its runners check
// that batches are laid out as Batch documents: right padding with the pad
// id, type id 0 and mask 0, [CLS] first, within the runner's size.
type ruleClassifier struct {
	info ClassifierInfo
	rule func(a, b []string) []float32
}

func (c *ruleClassifier) Info() ClassifierInfo { return c.info }
func (c *ruleClassifier) NewRunner(b, t int) (ClassifierRunner, error) {
	return &ruleRunner{c: c, b: b, t: t}, nil
}

type ruleRunner struct {
	c    *ruleClassifier
	b, t int
	out  []float32
}

func (r *ruleRunner) Classify(in Batch) ([]float32, error) {
	n := in.B * in.T
	if in.B > r.b || in.T > r.t || len(in.IDs) != n || len(in.TypeIDs) != n || len(in.Mask) != n {
		return nil, fmt.Errorf("ruleRunner: batch %d×%d (%d/%d/%d) for a runner of %d×%d",
			in.B, in.T, len(in.IDs), len(in.TypeIDs), len(in.Mask), r.b, r.t)
	}
	tok := r.c.info.Tokenizer
	r.out = r.out[:0]
	for row := range in.B {
		ids, types, mask := in.IDs[row*in.T:(row+1)*in.T], in.TypeIDs[row*in.T:(row+1)*in.T], in.Mask[row*in.T:(row+1)*in.T]
		if cls, _ := tok.TokenID("[CLS]"); ids[0] != cls || mask[0] != 1 {
			return nil, fmt.Errorf("row %d does not start with [CLS]: %v", row, ids)
		}
		var seg [2][]string
		padding := false
		for p := range in.T {
			if mask[p] == 0 {
				if ids[p] != r.c.info.PadID || types[p] != 0 {
					return nil, fmt.Errorf("row %d position %d: padding has id %d type %d", row, p, ids[p], types[p])
				}
				padding = true
				continue
			}
			if padding {
				return nil, fmt.Errorf("row %d: a token after padding: %v %v", row, ids, mask)
			}
			if tok.IsSpecial(ids[p]) {
				continue
			}
			w, _ := tok.Token(ids[p])
			seg[types[p]] = append(seg[types[p]], w)
		}
		r.out = append(r.out, r.c.rule(seg[0], seg[1])...)
	}
	return r.out, nil
}

// polarity is the sentiment of words: +1 per positive word, −1 per
// negative word, a "not" flipping the next one.
func polarity(words []string) float32 {
	s, sign := float32(0), float32(1)
	for _, w := range words {
		switch {
		case w == "not":
			sign = -1
			continue
		case slices.Contains(positiveWords, w):
			s += sign
		case slices.Contains(negativeWords, w):
			s -= sign
		}
		sign = 1
	}
	return s
}

// sentimentClassifier predicts positive (1) when the polarity is above 0.
func sentimentClassifier(tb testing.TB, maxLen int) *ruleClassifier {
	return &ruleClassifier{
		info: ClassifierInfo{Problem: SingleLabel, Labels: []string{"negative", "positive"}, MaxLength: maxLen, Tokenizer: bertTokenizer(tb)},
		rule: func(a, _ []string) []float32 { p := polarity(a); return []float32{-p / 2, p / 2} },
	}
}
