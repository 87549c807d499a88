package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/eval"
)

// small is a spec that runs fast in tests.
var small = Spec{Seed: 7, Length: 4, TrainLines: 3000, EvalLines: 400, ChoiceTasks: 200, Choices: 5}

func render(t *testing.T, s Spec) (train, evalText, choices []byte) {
	t.Helper()
	d, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.ChoicesJSONL()
	if err != nil {
		t.Fatal(err)
	}
	return d.TrainText(), d.EvalText(), c
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, s := range []Spec{{}, small} {
		a1, b1, c1 := render(t, s)
		a2, b2, c2 := render(t, s)
		if !bytes.Equal(a1, a2) || !bytes.Equal(b1, b2) || !bytes.Equal(c1, c2) {
			t.Fatalf("spec %+v: two generations differ", s)
		}
		other := s
		other.Seed++
		a3, b3, c3 := render(t, other)
		if bytes.Equal(a1, a3) || bytes.Equal(b1, b3) || bytes.Equal(c1, c3) {
			t.Errorf("spec %+v: seed %d and %d give the same file", s, s.Seed, other.Seed)
		}
	}
}

// The held-out splits do not move when only the training text grows.
func TestHeldOutIndependentOfTrainLines(t *testing.T) {
	more := small
	more.TrainLines *= 2
	a1, b1, c1 := render(t, small)
	a2, b2, c2 := render(t, more)
	if !bytes.Equal(b1, b2) || !bytes.Equal(c1, c2) {
		t.Error("eval text or choices changed with TrainLines")
	}
	if !bytes.HasPrefix(a2, a1) {
		t.Error("the longer training text does not extend the shorter one")
	}
}

// Every line parses back, its answer is its problem sorted (checked by
// counting digits, not by sorting), and the three splits have the sizes
// asked for and share no problem.
func TestTextsAreCorrectAndDisjoint(t *testing.T) {
	train, evalText, _ := render(t, small)
	d, err := Generate(small)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	note := func(split string, p Problem) {
		k := p.String()
		if prev, ok := seen[k]; ok {
			t.Fatalf("problem %s is in %s and %s", k, prev, split)
		}
		seen[k] = split
	}
	for _, c := range []struct {
		name string
		text []byte
		want int
	}{{"train", train, small.TrainLines}, {"eval", evalText, small.EvalLines}} {
		lines := strings.Split(strings.TrimSuffix(string(c.text), "\n"), "\n")
		if len(lines) != c.want {
			t.Fatalf("%s: %d lines, want %d", c.name, len(lines), c.want)
		}
		for _, l := range lines {
			p, answer, err := ParseLine(l)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) != small.Length || !isSortingOf(answer, p) {
				t.Fatalf("%s: %q: the answer is not the problem sorted", c.name, l)
			}
			note(c.name, p)
		}
	}
	for _, task := range d.Tasks {
		note("choices", task.Problem)
	}
	if len(d.Tasks) != small.ChoiceTasks {
		t.Errorf("%d tasks, want %d", len(d.Tasks), small.ChoiceTasks)
	}
}

// isSortingOf reports whether s is non-decreasing and holds the same
// digits as p.
func isSortingOf(s, p Problem) bool {
	var count [10]int
	for _, d := range p {
		count[d]++
	}
	for i, d := range s {
		if d > 9 || (i > 0 && d < s[i-1]) {
			return false
		}
		count[d]--
	}
	return len(s) == len(p) && count == [10]int{}
}

// Each task's choices are distinct; the label's is the sorted problem; the
// others are sorted lists one digit away from it.
func TestChoiceTasks(t *testing.T) {
	d, err := Generate(small)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, small.Choices)
	for _, task := range d.Tasks {
		if len(task.Choices) != small.Choices {
			t.Fatalf("%v: %d choices", task.Problem, len(task.Choices))
		}
		labels[task.Label]++
		for i, c := range task.Choices {
			if i == task.Label {
				if !isSortingOf(c, task.Problem) {
					t.Fatalf("%v: labelled choice %v is not the answer", task.Problem, c)
				}
				continue
			}
			if !slices.IsSorted(c) || differing(c, task.Choices[task.Label]) != 1 {
				t.Fatalf("%v: choice %v is not a sorted list one digit from the answer", task.Problem, c)
			}
			for _, o := range task.Choices[:i] {
				if slices.Equal(o, c) {
					t.Fatalf("%v: choice %v twice", task.Problem, c)
				}
			}
		}
	}
	for i, n := range labels { // the answer's position is uniform: 40 expected each
		if n < 20 || n > 65 {
			t.Errorf("the answer is choice %d in %d of %d tasks", i, n, len(d.Tasks))
		}
	}
}

func differing(a, b Problem) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// nearMisses finds exactly the sorted lists at Hamming distance 1, found
// here by brute force over every list of 3 digits.
func TestNearMissesByBruteForce(t *testing.T) {
	var all []Problem
	for id := range 1000 {
		if p := problemOf(id, 3); slices.IsSorted(p) {
			all = append(all, p)
		}
	}
	for _, s := range all {
		var want []string
		for _, o := range all {
			if differing(o, s) == 1 {
				want = append(want, o.String())
			}
		}
		var got []string
		for _, m := range nearMisses(s) {
			got = append(got, m.String())
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("nearMisses(%v) = %v, want %v", s, got, want)
		}
		if len(got) != 9+int(s[2])-int(s[0]) {
			t.Fatalf("nearMisses(%v): %d, want 9 + last − first", s, len(got))
		}
	}
}

// The JSONL file is what lopper's evaluator reads: same tasks, labels and
// contexts, and a context plus " " plus the answer is the text's line.
func TestChoicesReadByEval(t *testing.T) {
	d, err := Generate(small)
	if err != nil {
		t.Fatal(err)
	}
	_, _, data := render(t, small)
	path := filepath.Join(t.TempDir(), "choices.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tf, err := eval.ReadChoicesJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Tasks) != len(d.Tasks) {
		t.Fatalf("eval read %d tasks, want %d", len(tf.Tasks), len(d.Tasks))
	}
	for i, et := range tf.Tasks {
		want := d.Tasks[i].Problem.Line()
		if got := et.Context + eval.Delimiter + et.Choices[et.Label] + "\n"; got != want {
			t.Fatalf("task %d reads %q, want the line %q", i, got, want)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	for _, s := range []Spec{
		{Length: 1}, {Length: 7}, {Choices: 1}, {Choices: 11},
		{Length: 2, TrainLines: 50, EvalLines: 40, ChoiceTasks: 20}, // 110 > 100 lists
		{TrainLines: -1},
	} {
		if _, err := Generate(s); err == nil {
			t.Errorf("Generate(%+v) succeeded", s)
		}
	}
}

func TestParseLineRejects(t *testing.T) {
	for _, l := range []string{"", "sort 1 2 = 1", "sort 12 = 12", "sort 1 2 = 1 x", "sort 1  2 = 1 2", "sort1 2 = 1 2", "1 2 = 1 2"} {
		if _, _, err := ParseLine(l); err == nil {
			t.Errorf("ParseLine(%q) succeeded", l)
		}
	}
}

// below draws every value of small ranges about equally often.
func TestBelowIsUniform(t *testing.T) {
	src := newSource(1, "test")
	for _, n := range []int{1, 3, 10} {
		count := make([]int, n)
		const draws = 30000
		for range draws {
			count[src.below(n)]++
		}
		for v, c := range count {
			want := draws / n
			if c < want*9/10 || c > want*11/10 {
				t.Errorf("below(%d) drew %d %d times in %d, want about %d", n, v, c, draws, want)
			}
		}
	}
}
