package eval

import (
	"context"
	"math"
	"strings"
	"testing"
)

// A four-token world: a b c and space, with next-token probabilities chosen
// so that the log-likelihoods below can be worked out by hand.
var (
	abcEncoder = mapEncoder{ids: map[rune]int32{'a': 0, 'b': 1, 'c': 2, ' ': 3}}
	abcProbs   = [][]float64{
		// next:  a     b     c     ' '
		/* a */ {0.1, 0.6, 0.1, 0.2},
		/* b */ {0.1, 0.1, 0.3, 0.5},
		/* c */ {0.25, 0.25, 0.25, 0.25},
		/* ' ' */ {0.5, 0.1, 0.4, 0},
	}
)

func TestChoicesHandChecked(t *testing.T) {
	m := bigramLM{probs: abcProbs, maxPos: 16}
	tf := &TaskFile{Format: "jsonl", Path: "hand.jsonl", Tasks: []Task{
		// Context "ab"; continuations " c" and " ab":
		//   " c":  P(' '|b)·P(c|' ')        = 0.5·0.4      → ln 0.2
		//   " ab": P(' '|b)·P(a|' ')·P(b|a) = 0.5·0.5·0.6  → ln 0.15
		// acc picks " c" (0); per character: ln 0.2 / 1 = −1.609 vs
		// ln 0.15 / 2 = −0.949, so acc_norm picks " ab" (1). Label 1.
		{Context: "ab", Choices: []string{"c", "ab"}, Label: 1, Line: 1},
		// Context "c"; " a" = 0.25·0.5 = 0.125, " b" = 0.25·0.1 = 0.025.
		// Both measures pick 0; label 0.
		{Context: "c", Choices: []string{"a", "b"}, Label: 0, Line: 2},
	}}
	res, err := evalChoices(context.Background(), m, abcEncoder, tf, ChoiceOptions{Details: true})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{math.Log(0.2), math.Log(0.15)}, {math.Log(0.125), math.Log(0.025)}}
	for k, ts := range res.PerTask {
		for i, ll := range ts.LogLik {
			if math.Abs(ll-want[k][i]) > 1e-6 {
				t.Errorf("task %d choice %d: log-likelihood %v, want %v", k, i, ll, want[k][i])
			}
		}
	}
	if p := res.PerTask[0]; p.Pred != 0 || p.PredNorm != 1 {
		t.Errorf("task 0: pred %d pred_norm %d, want 0 and 1", p.Pred, p.PredNorm)
	}
	if res.Tasks != 2 || res.Correct != 1 || res.CorrectNorm != 2 || res.Acc != 0.5 || res.AccNorm != 1 {
		t.Errorf("got tasks %d correct %d/%d acc %v acc_norm %v; want 2, 1/2, 0.5, 1",
			res.Tasks, res.Correct, res.CorrectNorm, res.Acc, res.AccNorm)
	}
	if res.Tokens != 2+3+2+2 {
		t.Errorf("tokens %d, want 9", res.Tokens)
	}
}

func TestBuildRequests(t *testing.T) {
	enc := mapEncoder{ids: map[rune]int32{'a': 0, 'b': 1, 'c': 2, ' ': 3, 'd': 4, 'e': 5, 'f': 6, 'g': 7}, bos: 4, hasBOS: true}
	ids := func(s string) []int32 { return enc.encode(s) }
	eq := func(a, b []int32) bool { return string(int32sToRunes(a)) == string(int32sToRunes(b)) }
	for _, c := range []struct {
		name      string
		ctx       string
		choice    string
		maxPos    int
		input     []int32
		from      int
		targets   []int32
		truncated bool
	}{
		{"plain", "ab", "c", 16, ids("ab "), 1, ids(" c"), false},
		// Trailing space moves from the context to the continuation.
		{"trailing space", "ab ", "c", 16, ids("ab  "), 1, ids("  c"), false},
		// seq "abcdef g" (8) > maxPos+1 = 5: keep "def g", input "def ".
		{"left truncation", "abcdef", "g", 4, ids("def "), 2, ids(" g"), true},
		// Empty context starts from the BOS token (id 4).
		{"empty context", "", "ab", 16, []int32{4, 3, 0}, 0, ids(" ab"), false},
	} {
		reqs, err := buildRequests(enc, Task{Context: c.ctx, Choices: []string{c.choice}}, c.maxPos)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r := reqs[0]
		if len(r.segments) != 1 {
			t.Fatalf("%s: %d segments, want 1", c.name, len(r.segments))
		}
		sg := r.segments[0]
		if !eq(sg.input, c.input) || sg.from != c.from || !eq(sg.targets, c.targets) || r.truncated != c.truncated || r.contLen != len(c.targets) {
			t.Errorf("%s: input %v from %d targets %v truncated %v; want %v %d %v %v",
				c.name, sg.input, sg.from, sg.targets, r.truncated, c.input, c.from, c.targets, c.truncated)
		}
	}
}

func TestSegmentRequestLongContinuation(t *testing.T) {
	// seq = 0..9, the last 7 tokens (3..9) are the continuation, 3 positions:
	// windows from the end: inputs 6 7 8 predict 7 8 9; inputs 3 4 5
	// predict 4 5 6; inputs 0 1 2 predict 1 2 3, of which only 3 is scored.
	seq := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	checkSegments(t, segmentRequest(seq, 7, 3), false, []segment{
		{input: []int32{0, 1, 2}, from: 2, targets: []int32{3}},
		{input: []int32{3, 4, 5}, from: 0, targets: []int32{4, 5, 6}},
		{input: []int32{6, 7, 8}, from: 0, targets: []int32{7, 8, 9}},
	})
	// The last 4 tokens: inputs 6 7 8 predict 7 8 9, inputs 3 4 5 predict
	// 4 5 6 of which 6 is scored; tokens 0–2 are never seen.
	checkSegments(t, segmentRequest(seq, 4, 3), true, []segment{
		{input: []int32{3, 4, 5}, from: 2, targets: []int32{6}},
		{input: []int32{6, 7, 8}, from: 0, targets: []int32{7, 8, 9}},
	})
	// With room for the whole sequence nothing is cut or split.
	r := segmentRequest(seq, 7, 9)
	if len(r.segments) != 1 || r.truncated || r.segments[0].from != 2 || len(r.segments[0].input) != 9 {
		t.Errorf("maxPos 9: %+v", r)
	}
}

func checkSegments(t *testing.T, r request, truncated bool, want []segment) {
	t.Helper()
	if len(r.segments) != len(want) || r.truncated != truncated {
		t.Fatalf("got %+v, want segments %+v, truncated %v", r, want, truncated)
	}
	for i, sg := range r.segments {
		w := want[i]
		if string(int32sToRunes(sg.input)) != string(int32sToRunes(w.input)) || sg.from != w.from ||
			string(int32sToRunes(sg.targets)) != string(int32sToRunes(w.targets)) {
			t.Errorf("segment %d = %+v, want %+v", i, sg, w)
		}
	}
}

func TestChoicesLongContinuationBigram(t *testing.T) {
	// A bigram model needs only the previous token, which every segment
	// has, so a continuation split over several windows must score exactly
	// the product of its bigram probabilities.
	m := bigramLM{probs: abcProbs, maxPos: 3}
	tf := &TaskFile{Tasks: []Task{{Context: "cab", Choices: []string{"abcab", "c"}, Label: 0, Line: 1}}}
	res, err := evalChoices(context.Background(), m, abcEncoder, tf, ChoiceOptions{Details: true})
	if err != nil {
		t.Fatal(err)
	}
	// " abcab" after "b": P(' '|b) P(a|' ') P(b|a) P(c|b) P(a|c) P(b|a)
	want := math.Log(0.5 * 0.5 * 0.6 * 0.3 * 0.25 * 0.6)
	if got := res.PerTask[0].LogLik[0]; math.Abs(got-want) > 1e-6 {
		t.Errorf("log-likelihood %v, want %v", got, want)
	}
	if res.Split != 1 || res.Truncated != 2 || res.Tokens != 6+2 {
		t.Errorf("split %d truncated %d tokens %d; want 1, 2, 8", res.Split, res.Truncated, res.Tokens)
	}
}

func int32sToRunes(v []int32) []rune {
	out := make([]rune, len(v))
	for i, x := range v {
		out[i] = rune(x)
	}
	return out
}

func TestChoicesTruncationKeepsBigramScores(t *testing.T) {
	// A bigram model only looks one token back, so cutting a long context
	// from the left must leave the log-likelihoods unchanged.
	tasks := []Task{{Context: "abcabcabcab", Choices: []string{"c", "ab", "a"}, Label: 2, Line: 1}}
	long, err := evalChoices(context.Background(), bigramLM{probs: abcProbs, maxPos: 64}, abcEncoder,
		&TaskFile{Tasks: tasks}, ChoiceOptions{Details: true})
	if err != nil {
		t.Fatal(err)
	}
	short, err := evalChoices(context.Background(), bigramLM{probs: abcProbs, maxPos: 4}, abcEncoder,
		&TaskFile{Tasks: tasks}, ChoiceOptions{Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if long.Truncated != 0 || short.Truncated != 3 {
		t.Fatalf("truncated: %d with 64 positions, %d with 4; want 0 and 3", long.Truncated, short.Truncated)
	}
	for i := range long.PerTask[0].LogLik {
		if a, b := long.PerTask[0].LogLik[i], short.PerTask[0].LogLik[i]; math.Abs(a-b) > 1e-12 {
			t.Errorf("choice %d: %v untruncated, %v truncated", i, a, b)
		}
	}
}

func TestChoicesMatchBruteForce(t *testing.T) {
	// Against a context-sensitive model, each choice's log-likelihood must
	// equal the sum over its tokens of a forward pass on exactly the tokens
	// before it (no batching, no padding), all starting where the harness
	// cuts the whole sequence: its last maxPos+1 tokens.
	m := prefixLM{v: 4, maxPos: 6}
	tasks := []Task{
		{Context: "abcab", Choices: []string{"c", "abc", "b"}, Label: 0, Line: 1},
		{Context: "ba", Choices: []string{"cc", "a"}, Label: 1, Line: 2},
	}
	res, err := evalChoices(context.Background(), m, abcEncoder, &TaskFile{Tasks: tasks}, ChoiceOptions{Details: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for k, task := range tasks {
		for i, c := range task.Choices {
			seq := abcEncoder.encode(task.Context + " " + c)
			nCont := len(abcEncoder.encode(" " + c))
			var want float64
			for j := len(seq) - nCont; j < len(seq); j++ {
				start := max(0, len(seq)-(m.maxPos+1))
				r, _ := m.newRunner(1, j-start)
				logits, err := r.forward(seq[start:j], 1, j-start)
				if err != nil {
					t.Fatal(err)
				}
				row := logits[(j-start-1)*m.v : (j-start)*m.v]
				var z float64
				for _, x := range row {
					z += math.Exp(float64(x))
				}
				want += float64(row[seq[j]]) - math.Log(z)
			}
			if got := res.PerTask[k].LogLik[i]; math.Abs(got-want) > 1e-9 {
				t.Errorf("task %d choice %d: %v, brute force %v", k, i, got, want)
			}
		}
	}
}

func TestChoicesErrors(t *testing.T) {
	m := bigramLM{probs: abcProbs, maxPos: 2}
	for _, c := range []struct {
		task Task
		want string
	}{
		{Task{Context: "", Choices: []string{"a", "b"}, Line: 7}, "f.jsonl:7: the context is empty and the tokenizer has no BOS/EOS token"},
		{Task{Context: "a", Choices: []string{"a", ""}, Line: 8}, "f.jsonl:8: choice 1 is empty"},
		{Task{Context: "a", Choices: []string{"a", "b"}, Label: 2, Line: 9}, "f.jsonl:9: label 2 is not an index into 2 choices"},
	} {
		_, err := evalChoices(context.Background(), m, abcEncoder, &TaskFile{Path: "f.jsonl", Tasks: []Task{c.task}}, ChoiceOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func TestChoicesLimitAndSample(t *testing.T) {
	m := bigramLM{probs: abcProbs, maxPos: 16}
	var tasks []Task
	for i := range 30 {
		tasks = append(tasks, Task{Context: "ab", Choices: []string{"c", "ab"}, Label: i % 2, Line: i + 1})
	}
	tf := &TaskFile{Format: "jsonl", Tasks: tasks}
	first, err := evalChoices(context.Background(), m, abcEncoder, tf, ChoiceOptions{Limit: 5, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	for k, ts := range first.PerTask {
		if ts.Line != k+1 {
			t.Fatalf("limit without sampling: task %d is line %d, want %d", k, ts.Line, k+1)
		}
	}
	if first.Protocol.Sampled || first.Protocol.Seed != nil || first.Protocol.TasksAvailable != 30 {
		t.Errorf("protocol %+v", first.Protocol)
	}
	a, err := evalChoices(context.Background(), m, abcEncoder, tf, ChoiceOptions{Limit: 5, Sample: true, Seed: 3, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Protocol.Sampled || a.Protocol.Seed == nil || *a.Protocol.Seed != 3 || a.Tasks != 5 {
		t.Errorf("sampled protocol %+v, tasks %d", a.Protocol, a.Tasks)
	}
}
