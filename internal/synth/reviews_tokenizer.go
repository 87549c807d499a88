package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The review task's WordPiece vocabulary: BERT's special tokens first
// ([PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, as bert-base-uncased
// orders its own at 0, 100, 101, 102, 103), then punctuation, the task's
// words, and single letters and digits with and without the "##"
// continuation prefix, so that any lowercase ASCII word still tokenizes
// (into pieces) instead of becoming [UNK].
var reviewSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// ReviewPadID is the review tokenizer's [PAD] id (a classifier's
// pad_token_id).
const ReviewPadID = 0

// reviewVocab is the vocabulary in id order.
func reviewVocab() []string {
	v := append([]string(nil), reviewSpecials...)
	seen := map[string]bool{}
	add := func(words ...string) {
		for _, w := range words {
			if w != "" && !seen[w] {
				seen[w] = true
				v = append(v, w)
			}
		}
	}
	add(",", ".", "!", "?", "'", "-")
	add("the", "not")
	for _, ws := range [][]string{reviewJoins, reviewNouns, reviewVerbs, reviewIntensifiers, reviewPositive, reviewNegative} {
		add(ws...)
	}
	var chars []string
	for c := 'a'; c <= 'z'; c++ {
		chars = append(chars, string(c))
	}
	for c := '0'; c <= '9'; c++ {
		chars = append(chars, string(c))
	}
	add(chars...)
	for _, c := range chars {
		add("##" + c)
	}
	return v
}

// ReviewTokenizerJSON is a Hugging Face tokenizer.json for the review task,
// as transformers' BertTokenizerFast writes one for an uncased vocabulary:
// BertNormalizer (lowercase, accents stripped as lowercase implies),
// BertPreTokenizer, WordPiece with "##" continuations and [UNK], and
// TemplateProcessing "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1".
// The vocabulary is written in id order.
func ReviewTokenizerJSON() ([]byte, error) {
	vocab := reviewVocab()
	ids := map[string]int{}
	for i, w := range vocab {
		ids[w] = i
	}
	id := func(s string) int { return ids[s] }
	q := func(s string) string { return strconv.Quote(s) } // the vocabulary is ASCII: Go's quoting is JSON's
	var b strings.Builder
	b.WriteString(`{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [`)
	for i, s := range reviewSpecials {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id": ` + strconv.Itoa(i) + `, "content": ` + q(s) +
			`, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}`)
	}
	b.WriteString(`], "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,` +
		` "strip_accents": null, "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"},`)
	special := func(s string, typ int) string {
		return `{"SpecialToken": {"id": ` + q(s) + `, "type_id": ` + strconv.Itoa(typ) + `}}`
	}
	seq := func(s string, typ int) string {
		return `{"Sequence": {"id": ` + q(s) + `, "type_id": ` + strconv.Itoa(typ) + `}}`
	}
	specialIDs := func(s string) string {
		return q(s) + `: {"id": ` + q(s) + `, "ids": [` + strconv.Itoa(id(s)) + `], "tokens": [` + q(s) + `]}`
	}
	b.WriteString(`"post_processor": {"type": "TemplateProcessing", "single": [` +
		special("[CLS]", 0) + `, ` + seq("A", 0) + `, ` + special("[SEP]", 0) + `], "pair": [` +
		special("[CLS]", 0) + `, ` + seq("A", 0) + `, ` + special("[SEP]", 0) + `, ` + seq("B", 1) + `, ` + special("[SEP]", 1) +
		`], "special_tokens": {` + specialIDs("[CLS]") + `, ` + specialIDs("[SEP]") + `}},`)
	b.WriteString(`"decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},`)
	b.WriteString(`"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",` +
		` "max_input_chars_per_word": 100, "vocab": {`)
	for i, w := range vocab {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(w) + ": " + strconv.Itoa(i))
	}
	b.WriteString(`}}}`)
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(b.String()), "", "  "); err != nil {
		return nil, fmt.Errorf("synth: the review tokenizer: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// ReviewVocabSize is the number of tokens of ReviewTokenizerJSON (a
// classifier's vocab_size).
func ReviewVocabSize() int { return len(reviewVocab()) }
