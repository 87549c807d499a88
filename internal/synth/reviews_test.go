package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"lopper/eval"
)

var smallReviews = ReviewSpec{Seed: 3, TrainLines: 1500, EvalLines: 300}

func genReviews(t *testing.T, s ReviewSpec) *ReviewSet {
	t.Helper()
	d, err := GenerateReviews(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReviewsAreDeterministic(t *testing.T) {
	for _, s := range []ReviewSpec{{}, smallReviews} {
		a, b := genReviews(t, s), genReviews(t, s)
		if !bytes.Equal(a.TrainTSV(), b.TrainTSV()) || !bytes.Equal(a.EvalTSV(), b.EvalTSV()) {
			t.Fatalf("spec %+v: two generations differ", s)
		}
		other := s
		other.Seed++
		c := genReviews(t, other)
		if bytes.Equal(a.TrainTSV(), c.TrainTSV()) || bytes.Equal(a.EvalTSV(), c.EvalTSV()) {
			t.Errorf("spec %+v: seeds %d and %d give the same file", s, s.Seed, other.Seed)
		}
	}
	// The evaluation split does not move when only the training split grows.
	more := smallReviews
	more.TrainLines *= 2
	a, b := genReviews(t, smallReviews), genReviews(t, more)
	if !bytes.Equal(a.EvalTSV(), b.EvalTSV()) || !bytes.HasPrefix(b.TrainTSV(), a.TrainTSV()) {
		t.Error("the evaluation split changed with TrainLines, or the longer training split does not extend the shorter")
	}
}

// A review's label, worked out here from the text alone with this test's
// own grammar and word lists: the majority of the clauses' polarities, a
// tie going to the last clause.
var (
	joinRE   = regexp.MustCompile(`, | and | but `)
	clauseRE = regexp.MustCompile(`^the (film|plot|cast|music|story|ending|acting|script) (was|is|seemed)( not)?( very| really| quite)? ([a-z]+)$`)
)

func labelOf(t *testing.T, text string) int {
	t.Helper()
	polar := map[string]int{"good": 1, "great": 1, "superb": 1, "lovely": 1, "fun": 1, "clever": 1,
		"bad": -1, "awful": -1, "dull": -1, "weak": -1, "boring": -1, "silly": -1}
	clauses := joinRE.Split(text, -1)
	if len(clauses) < 1 || len(clauses) > 3 {
		t.Fatalf("%q: %d clauses", text, len(clauses))
	}
	sum, last := 0, 0
	for _, c := range clauses {
		m := clauseRE.FindStringSubmatch(c)
		if m == nil || polar[m[5]] == 0 {
			t.Fatalf("%q: clause %q does not follow the grammar", text, c)
		}
		last = polar[m[5]]
		if m[3] != "" {
			last = -last
		}
		sum += last
	}
	if sum > 0 || sum == 0 && last > 0 {
		return 1
	}
	return 0
}

func TestReviewsLabelsAndSplits(t *testing.T) {
	d := genReviews(t, smallReviews)
	if len(d.Train) != smallReviews.TrainLines || len(d.Eval) != smallReviews.EvalLines {
		t.Fatalf("%d and %d reviews, want %d and %d", len(d.Train), len(d.Eval), smallReviews.TrainLines, smallReviews.EvalLines)
	}
	seen := map[string]bool{}
	positive, ties, negated := 0, 0, 0
	for _, r := range append(append([]Review(nil), d.Eval...), d.Train...) {
		if seen[r.Text] {
			t.Fatalf("review %q twice", r.Text)
		}
		seen[r.Text] = true
		if want := labelOf(t, r.Text); r.Label != want {
			t.Fatalf("%q: label %d, want %d", r.Text, r.Label, want)
		}
		positive += r.Label
		if strings.Contains(r.Text, " not ") {
			negated++
		}
		if n := len(joinRE.Split(r.Text, -1)); n == 2 {
			ties++
		}
	}
	// Both classes, negation and two-clause reviews are all common.
	n := len(seen)
	if positive < n*2/5 || positive > n*3/5 || negated < n/4 || ties < n/5 {
		t.Errorf("%d reviews: %d positive, %d with a negation, %d of two clauses", n, positive, negated, ties)
	}
}

// The TSV files are GLUE-style labelled tasks that eval reads back, label
// names mapped through ReviewLabels.
func TestReviewsTSVReadsBack(t *testing.T) {
	d := genReviews(t, smallReviews)
	path := filepath.Join(t.TempDir(), "dev.tsv")
	if err := os.WriteFile(path, d.EvalTSV(), 0o644); err != nil {
		t.Fatal(err)
	}
	task, err := eval.ReadLabelled(path, eval.LabelOptions{NumLabels: 2, Label2ID: map[string]int{ReviewLabels[0]: 0, ReviewLabels[1]: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Examples) != len(d.Eval) {
		t.Fatalf("%d examples read back, want %d", len(task.Examples), len(d.Eval))
	}
	for i, ex := range task.Examples {
		if ex.Text != d.Eval[i].Text || ex.Label != d.Eval[i].Label || ex.Pair || ex.Line != i+2 {
			t.Fatalf("example %d: %+v, want %+v", i, ex, d.Eval[i])
		}
	}
}

func TestReviewSpecLimits(t *testing.T) {
	for _, s := range []ReviewSpec{{TrainLines: -1}, {EvalLines: maxReviewSplit + 1}} {
		if _, err := GenerateReviews(s); err == nil {
			t.Errorf("spec %+v: no error", s)
		}
	}
}
