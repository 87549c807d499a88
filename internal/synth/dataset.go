package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Spec says which dataset to generate. The zero value of an optional
// field is its default (see WithDefaults).
type Spec struct {
	// Seed selects the problems of each split and the near misses.
	Seed uint64
	// Length is the number of digits per problem, 2…6; default 5.
	Length int
	// TrainLines, EvalLines and ChoiceTasks are the sizes of the three
	// splits, which share no problem; defaults 10,000, 2,000 and 500.
	TrainLines, EvalLines, ChoiceTasks int
	// Choices per multiple-choice task, the answer among near misses,
	// 2…10; default 4.
	Choices int
}

// WithDefaults returns s with its unset optional fields filled in.
func (s Spec) WithDefaults() Spec {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.Length, 5)
	def(&s.TrainLines, 10000)
	def(&s.EvalLines, 2000)
	def(&s.ChoiceTasks, 500)
	def(&s.Choices, 4)
	return s
}

// Limits of a Spec. Every sorted list has at least 9 near misses (see
// nearMisses), so up to 10 choices can always be filled.
const (
	minLength, maxLength   = 2, 6
	minChoices, maxChoices = 2, 10
)

// Dataset is a generated task: three disjoint sets of problems.
type Dataset struct {
	Spec  Spec         // with defaults
	Train []Problem    // the training text's problems
	Eval  []Problem    // the evaluation text's problems
	Tasks []ChoiceTask // multiple-choice tasks
}

// ChoiceTask is one multiple-choice question: Choices holds candidate
// answers, Choices[Label] the sorted list.
type ChoiceTask struct {
	Problem Problem
	Choices []Problem
	Label   int
}

// Generate makes the dataset that spec describes. The problems are drawn
// without replacement from all 10^Length lists: first the evaluation
// text's, then the multiple-choice tasks', then the training text's, so
// that changing TrainLines leaves the held-out splits as they are.
func Generate(spec Spec) (*Dataset, error) {
	s := spec.WithDefaults()
	if s.Length < minLength || s.Length > maxLength {
		return nil, fmt.Errorf("synth: length %d; want %d…%d digits", s.Length, minLength, maxLength)
	}
	if s.Choices < minChoices || s.Choices > maxChoices {
		return nil, fmt.Errorf("synth: %d choices per task; want %d…%d", s.Choices, minChoices, maxChoices)
	}
	n := 1
	for range s.Length {
		n *= 10
	}
	sizes := []int{s.EvalLines, s.ChoiceTasks, s.TrainLines}
	total := 0
	for _, k := range sizes {
		if k < 1 {
			return nil, fmt.Errorf("synth: every split needs at least one problem (train %d, eval %d, choices %d)", s.TrainLines, s.EvalLines, s.ChoiceTasks)
		}
		total += k
	}
	if total > n {
		return nil, fmt.Errorf("synth: %d problems requested, but there are only %d lists of %d digits", total, n, s.Length)
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(i)
	}
	draw := newSource(s.Seed, "problems")
	for i := range total { // partial Fisher–Yates: ids[:total] is a uniform sample
		j := i + draw.below(n-i)
		ids[i], ids[j] = ids[j], ids[i]
	}
	splits := make([][]Problem, len(sizes))
	at := 0
	for k, size := range sizes {
		for _, id := range ids[at : at+size] {
			splits[k] = append(splits[k], problemOf(int(id), s.Length))
		}
		at += size
	}
	d := &Dataset{Spec: s, Eval: splits[0], Train: splits[2]}
	pick := newSource(s.Seed, "choices")
	for _, p := range splits[1] {
		d.Tasks = append(d.Tasks, newChoiceTask(p, s.Choices, pick))
	}
	return d, nil
}

// problemOf is the id-th list of length digits: id's decimal digits, most
// significant first.
func problemOf(id, length int) Problem {
	p := make(Problem, length)
	for i := length - 1; i >= 0; i-- {
		p[i] = byte(id % 10)
		id /= 10
	}
	return p
}

// newChoiceTask puts p's answer among k−1 of its near misses, drawn at
// random, at a random position.
func newChoiceTask(p Problem, k int, src *source) ChoiceTask {
	answer := p.Sorted()
	near := nearMisses(answer)
	for i := range k - 1 {
		j := i + src.below(len(near)-i)
		near[i], near[j] = near[j], near[i]
	}
	choices := append([]Problem{answer}, near[:k-1]...)
	src.shuffle(len(choices), func(i, j int) { choices[i], choices[j] = choices[j], choices[i] })
	label := slices.IndexFunc(choices, func(c Problem) bool { return slices.Equal(c, answer) })
	return ChoiceTask{Problem: p, Choices: choices, Label: label}
}

// nearMisses are the sorted lists that differ from the sorted list s in
// exactly one digit: position i takes every other value between its
// neighbours (0 and 9 at the ends). They number 9 + s[last] − s[0] ≥ 9:
// the ranges' widths telescope.
func nearMisses(s Problem) []Problem {
	var out []Problem
	for i, d := range s {
		lo, hi := byte(0), byte(9)
		if i > 0 {
			lo = s[i-1]
		}
		if i+1 < len(s) {
			hi = s[i+1]
		}
		for v := lo; v <= hi; v++ {
			if v != d {
				m := slices.Clone(s)
				m[i] = v
				out = append(out, m)
			}
		}
	}
	return out
}

// TrainText is the training problems, one Line each.
func (d *Dataset) TrainText() []byte { return text(d.Train) }

// EvalText is the evaluation problems, one Line each.
func (d *Dataset) EvalText() []byte { return text(d.Eval) }

func text(ps []Problem) []byte {
	var b bytes.Buffer
	for _, p := range ps {
		b.WriteString(p.Line())
	}
	return b.Bytes()
}

// jsonTask is a line of the multiple-choice file, in the format of lopper
// eval --choices and the evaluate stage's choices.
type jsonTask struct {
	Context string   `json:"context"`
	Choices []string `json:"choices"`
	Label   int      `json:"label"`
}

// ChoicesJSONL is the multiple-choice tasks, one JSON object a line:
// {"context":"sort 2 9 1 4 1 =","choices":["1 1 2 4 9","1 1 2 5 9",…],"label":0}.
func (d *Dataset) ChoicesJSONL() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, t := range d.Tasks {
		jt := jsonTask{Context: t.Problem.Context(), Label: t.Label}
		for _, c := range t.Choices {
			jt.Choices = append(jt.Choices, c.String())
		}
		if err := enc.Encode(jt); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
