package synth

import (
	"slices"
	"testing"

	"lopper/model/tokenizer"
)

// The review tokenizer loads as a BERT WordPiece tokenizer: every review
// of a generated set encodes to [CLS] words [SEP] with no [UNK] and
// decodes back to its text; a word outside the task falls apart into
// letters; a pair gets type ids 0 then 1; [PAD] is the padding token.
func TestReviewTokenizer(t *testing.T) {
	data, err := ReviewTokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != ReviewVocabSize() {
		t.Errorf("vocab %d, ReviewVocabSize %d", tok.VocabSize(), ReviewVocabSize())
	}
	if id, ok := tok.PadID(); !ok || id != ReviewPadID {
		t.Errorf("pad id %d %v, want %d", id, ok, ReviewPadID)
	}
	cls, _ := tok.TokenID("[CLS]")
	sep, _ := tok.TokenID("[SEP]")
	unk, _ := tok.TokenID("[UNK]")
	d := genReviews(t, smallReviews)
	for _, r := range slices.Concat(d.Train, d.Eval) {
		e, err := tok.EncodeText(r.Text, tokenizer.EncodeOptions{AddSpecial: true}, tokenizer.Truncation{})
		if err != nil {
			t.Fatal(err)
		}
		ids := e.IDs
		if ids[0] != cls || ids[len(ids)-1] != sep || slices.Contains(ids, unk) {
			t.Fatalf("%q → %v: want [CLS] … [SEP] without [UNK]", r.Text, ids)
		}
		if got := tok.Decode(ids[1 : len(ids)-1]); got != r.Text {
			t.Fatalf("%q decodes back to %q", r.Text, got)
		}
	}
	var pieces []string
	for _, id := range tok.Encode("Zebra") {
		s, _ := tok.Token(id)
		pieces = append(pieces, s)
	}
	if want := []string{"z", "##e", "##b", "##r", "##a"}; !slices.Equal(pieces, want) {
		t.Errorf("Zebra → %q, want %q", pieces, want)
	}
	e, err := tok.EncodeTextPair("the film", "was good", tokenizer.EncodeOptions{AddSpecial: true}, tokenizer.Truncation{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 0, 0, 0, 1, 1, 1}; !slices.Equal(e.TypeIDs, want) {
		t.Errorf("pair type ids %v, want %v", e.TypeIDs, want)
	}
}
