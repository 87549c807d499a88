// Package synth generates the quickstart's synthetic task: sorting a short
// list of digits, written as text, one problem a line:
//
//	sort 2 9 1 4 1 = 1 1 2 4 9
//
// A byte-level language model that has learned the task writes the sorted
// list after "= "; multiple-choice tasks ask it to pick the sorted list
// among near misses (sorted lists with one digit wrong, the errors of a
// model that miscounts or misplaces a digit). Accuracy is therefore a
// clear number, and it needs the whole input: every output digit depends
// on all the input digits.
//
// For the encoder (classifier) quickstart it also generates a labelled-text
// task, short film reviews labelled positive or negative (reviews.go),
// written as GLUE-style TSV files that eval.ReadLabelled reads.
//
// Everything is a pure function of a Spec (or a ReviewSpec): the same spec
// gives the same bytes on every machine and Go version, because all
// randomness comes from a seeded PCG generator through this package's own
// sampling functions (see rand.go), whose output the Go project specifies.
package synth

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is a list of digits (0–9) to sort.
type Problem []byte

// Sorted is the answer: the digits in increasing order.
func (p Problem) Sorted() Problem {
	s := slices.Clone(p)
	slices.Sort(s)
	return s
}

// Context is the question as the model sees it before the answer:
// "sort 2 9 1 4 1 =". Multiple-choice scoring appends " " and a choice.
func (p Problem) Context() string { return "sort " + p.String() + " =" }

// Line is the problem with its answer and a newline,
// "sort 2 9 1 4 1 = 1 1 2 4 9\n": the unit of the training and evaluation
// texts. It is Context, a space and the answer, so the texts read exactly
// as multiple-choice scoring presents a choice.
func (p Problem) Line() string { return p.Context() + " " + p.Sorted().String() + "\n" }

// String writes the digits separated by spaces: "2 9 1 4 1".
func (p Problem) String() string {
	b := make([]byte, 0, 2*len(p))
	for i, d := range p {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, '0'+d)
	}
	return string(b)
}

// ParseLine reads a line written by Line (without its newline) back into
// its problem and its stated answer. Tests use it to check the texts
// independently of the writer.
func ParseLine(s string) (p, answer Problem, err error) {
	rest, ok := strings.CutPrefix(s, "sort ")
	q, a, ok2 := strings.Cut(rest, " = ")
	if !ok || !ok2 {
		return nil, nil, fmt.Errorf("line %q is not of the form \"sort D D … = D D …\"", s)
	}
	if p, err = parseDigits(q); err != nil {
		return nil, nil, fmt.Errorf("line %q: problem: %w", s, err)
	}
	if answer, err = parseDigits(a); err != nil {
		return nil, nil, fmt.Errorf("line %q: answer: %w", s, err)
	}
	if len(answer) != len(p) {
		return nil, nil, fmt.Errorf("line %q: %d digits to sort but %d in the answer", s, len(p), len(answer))
	}
	return p, answer, nil
}

// parseDigits reads "D D D" (single digits separated by single spaces).
func parseDigits(s string) (Problem, error) {
	if len(s)%2 != 1 {
		return nil, fmt.Errorf("%q is not digits separated by spaces", s)
	}
	p := make(Problem, 0, (len(s)+1)/2)
	for i := 0; i < len(s); i += 2 {
		if s[i] < '0' || s[i] > '9' || (i+1 < len(s) && s[i+1] != ' ') {
			return nil, fmt.Errorf("%q is not digits separated by spaces", s)
		}
		p = append(p, s[i]-'0')
	}
	return p, nil
}
