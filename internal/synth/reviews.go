package synth

import (
	"bytes"
	"fmt"
	"strings"
)

// Reviews is the labelled-text task for the encoder quickstart: short film
// reviews made of one to three clauses, each "the NOUN VERB [not]
// [INTENSIFIER] ADJECTIVE", joined by "and", "but" or ",":
//
//	the plot was not very dull but the music seemed bad	negative
//
// A clause's polarity is its adjective's (+1 or −1), flipped by "not"; the
// review's label is the majority of its clauses' polarities, a tie going
// to the last clause (above: +1 and −1, so the last, negative). Words alone do not decide it: "not" reverses the
// adjective after it, so a classifier has to look at word order, and the
// vocabulary is small enough for a tiny WordPiece model.
var (
	reviewNouns        = []string{"film", "plot", "cast", "music", "story", "ending", "acting", "script"}
	reviewVerbs        = []string{"was", "is", "seemed"}
	reviewIntensifiers = []string{"", "very", "really", "quite"}
	reviewPositive     = []string{"good", "great", "superb", "lovely", "fun", "clever"}
	reviewNegative     = []string{"bad", "awful", "dull", "weak", "boring", "silly"}
	reviewJoins        = []string{"and", "but", ","}
)

// ReviewLabels names the review task's classes: label i is ReviewLabels[i]
// (a classifier's id2label).
var ReviewLabels = []string{"negative", "positive"}

// ReviewSpec says which reviews to generate. The zero value of a size is
// its default.
type ReviewSpec struct {
	// Seed selects the reviews.
	Seed uint64
	// TrainLines and EvalLines are the sizes of the two splits, which
	// share no review; defaults 4,000 and 500.
	TrainLines, EvalLines int
}

// WithDefaults returns s with its unset sizes filled in.
func (s ReviewSpec) WithDefaults() ReviewSpec {
	if s.TrainLines == 0 {
		s.TrainLines = 4000
	}
	if s.EvalLines == 0 {
		s.EvalLines = 500
	}
	return s
}

// Review is one labelled review: Label indexes ReviewLabels.
type Review struct {
	Text  string
	Label int
}

// ReviewSet is a generated review task.
type ReviewSet struct {
	Spec        ReviewSpec // with defaults
	Train, Eval []Review
}

// maxReviewSplit bounds the sizes of a ReviewSpec: far below the number of
// distinct reviews, so drawing distinct ones stays fast.
const maxReviewSplit = 1_000_000

// GenerateReviews makes the reviews spec describes: distinct reviews, the
// evaluation split's drawn first, so that changing TrainLines leaves it as
// it is.
func GenerateReviews(spec ReviewSpec) (*ReviewSet, error) {
	s := spec.WithDefaults()
	if s.TrainLines < 1 || s.EvalLines < 1 || s.TrainLines > maxReviewSplit || s.EvalLines > maxReviewSplit {
		return nil, fmt.Errorf("synth: %d training and %d evaluation reviews; want 1…%d each", s.TrainLines, s.EvalLines, maxReviewSplit)
	}
	src := newSource(s.Seed, "reviews")
	seen := map[string]bool{}
	draw := func(n int) []Review {
		out := make([]Review, 0, n)
		for len(out) < n {
			r := newReview(src)
			if !seen[r.Text] {
				seen[r.Text] = true
				out = append(out, r)
			}
		}
		return out
	}
	d := &ReviewSet{Spec: s}
	d.Eval = draw(s.EvalLines)
	d.Train = draw(s.TrainLines)
	return d, nil
}

// newReview draws one review and works out its label.
func newReview(src *source) Review {
	pick := func(words []string) string { return words[src.below(len(words))] }
	var b strings.Builder
	clauses := 1 + src.below(3)
	votes, last := 0, 0
	for i := range clauses {
		if i > 0 {
			if j := pick(reviewJoins); j == "," {
				b.WriteString(", ")
			} else {
				b.WriteString(" " + j + " ")
			}
		}
		b.WriteString("the " + pick(reviewNouns) + " " + pick(reviewVerbs))
		polarity := 1
		if src.below(3) == 0 {
			b.WriteString(" not")
			polarity = -1
		}
		if w := pick(reviewIntensifiers); w != "" {
			b.WriteString(" " + w)
		}
		adj := reviewPositive
		if src.below(2) == 0 {
			adj, polarity = reviewNegative, -polarity
		}
		b.WriteString(" " + pick(adj))
		votes += polarity
		last = polarity
	}
	label := 0
	if votes > 0 || votes == 0 && last > 0 {
		label = 1
	}
	return Review{Text: b.String(), Label: label}
}

// TrainTSV is the training reviews as a GLUE-style TSV file: a header
// "sentence\tlabel", then one review a line with its label's name.
func (d *ReviewSet) TrainTSV() []byte { return reviewsTSV(d.Train) }

// EvalTSV is the evaluation reviews, as TrainTSV.
func (d *ReviewSet) EvalTSV() []byte { return reviewsTSV(d.Eval) }

// reviewsTSV writes reviews; their words never hold a tab or a newline.
func reviewsTSV(rs []Review) []byte {
	var b bytes.Buffer
	b.WriteString("sentence\tlabel\n")
	for _, r := range rs {
		b.WriteString(r.Text + "\t" + ReviewLabels[r.Label] + "\n")
	}
	return b.Bytes()
}
