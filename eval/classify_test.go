package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Eight reviews, worked out by hand with the polarity rule:
//
//	the film was good          +1  positive  right
//	the plot was not good      −1  negative  right
//	bad and dull               −2  negative  right
//	not bad, fun               +2  positive  right ("," is [UNK], skipped)
//	the film                    0  negative  wrong (a tie goes to class 0)
//	great but weak and awful   −1  negative  wrong
//	very fine                  +1  positive  right
//	weak plot                  −1  negative  right (label given as index 0)
const handReviews = "sentence\tlabel\nthe film was good\tpositive\nthe plot was not good\tnegative\n" +
	"bad and dull\tnegative\nnot bad, fun\tpositive\nthe film\tpositive\ngreat but weak and awful\tpositive\n" +
	"very fine\tpositive\nweak plot\t0\n"

func TestClassifyHandChecked(t *testing.T) {
	path := writeTemp(t, "reviews.tsv", handReviews)
	res, err := ClassifyFile(context.Background(), sentimentClassifier(t, 512), path, ClassifyOptions{Batch: 3, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	// Confusion [true][predicted]: negatives 3 → 3 negative; positives 5 → 2
	// negative, 3 positive. Each class's F1 is 2·3/(3+5) = 0.75; MCC with
	// tp 3, tn 3, fp 0, fn 2 is (9 − 0)/√(3·5·3·5) = 0.6.
	if *res.Accuracy != 0.75 || *res.MacroF1 != 0.75 || !near(*res.MCC, 0.6) || *res.Correct != 6 || res.Examples != 8 {
		t.Errorf("accuracy %v macro_f1 %v mcc %v correct %d examples %d; want 0.75 0.75 0.6 6 8",
			*res.Accuracy, *res.MacroF1, *res.MCC, *res.Correct, res.Examples)
	}
	if want := [][]int{{3, 0}, {2, 3}}; !reflect.DeepEqual(res.Confusion, want) {
		t.Errorf("confusion %v, want %v", res.Confusion, want)
	}
	wantPer := []ClassCount{{"negative", 3, 5, 3, 0.6, 1, 0.75}, {"positive", 5, 3, 3, 1, 0.6, 0.75}}
	if !reflect.DeepEqual(res.PerClass, wantPer) {
		t.Errorf("per class %+v, want %+v", res.PerClass, wantPer)
	}
	// [CLS] and [SEP] around 4, 5, 3, 4 ("," included), 2, 5, 2 and 2 words.
	if res.Tokens != 43 || res.Truncated != 0 {
		t.Errorf("tokens %d truncated %d, want 43 and 0", res.Tokens, res.Truncated)
	}
	if p := res.PerExample[3]; p.Line != 5 || !slices.Equal(p.Pred, []int{1}) || !slices.Equal(p.Logits, []float32{-1, 1}) {
		t.Errorf("example 4: %+v, want line 5, pred [1], logits [-1 1]", p)
	}
	pr := res.Protocol
	if pr.Kind != "classify" || pr.Format != "tsv" || pr.File != path || len(pr.SHA256) != 64 || pr.MaxLength != 512 ||
		pr.Batch != 3 || pr.ProblemType != SingleLabel || !slices.Equal(pr.Columns, []string{"sentence", "label"}) {
		t.Errorf("protocol %+v", pr)
	}
}

// The JSON fields are the contract: accuracy, macro_f1, mcc,
// per_class, examples; and accuracy is the headline that acc_drop reads,
// computed as for every other evaluation.
func TestClassifyJSONAndAccDrop(t *testing.T) {
	path := writeTemp(t, "reviews.tsv", handReviews)
	clf := sentimentClassifier(t, 512)
	base, err := ClassifyFile(context.Background(), clf, path, ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accuracy", "macro_f1", "mcc", "per_class", "examples", "confusion", "correct", "protocol"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, data)
		}
	}
	for _, k := range []string{"mse", "micro_f1", "pearson", "per_example"} {
		if _, ok := fields[k]; ok {
			t.Errorf("single-label JSON has %q", k)
		}
	}
	// A worse classifier: every prediction flipped.
	worse := &ruleClassifier{info: clf.info, rule: func(a, b []string) []float32 { l := clf.rule(a, b); return []float32{l[1], l[0]} }}
	cur, err := ClassifyFile(context.Background(), worse, path, ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bm, cm := base.Metrics(), cur.Metrics()
	want := Metrics{MetricAccuracy: 0.75, MetricMacroF1: 0.75, MetricMCC: bm[MetricMCC], MetricExamples: 8}
	if !reflect.DeepEqual(bm, want) || !near(bm[MetricMCC], 0.6) {
		t.Errorf("metrics %v, want %v", bm, want)
	}
	// Ties (polarity 0) go to class 0 in both, so "the film" is wrong both
	// times: 1 of 8 right after flipping.
	if cm[MetricAccuracy] != 0.125 {
		t.Errorf("flipped accuracy %v, want 0.125", cm[MetricAccuracy])
	}
	if d := Relative(bm, cm)[MetricAccDrop]; d != *base.Accuracy-*cur.Accuracy || d != 0.625 {
		t.Errorf("acc_drop %v, want %v", d, 0.75-0.125)
	}
}

// randomReviews is n reviews of random words, labelled at random (so the
// rule is right about half the time), one in five a pair.
func randomReviews(seed uint64, n int) *LabelledTask {
	src := rand.New(rand.NewPCG(seed, 9))
	words := slices.Concat(positiveWords, negativeWords, otherWords)
	task := &LabelledTask{Format: "tsv", Path: "random.tsv", Problem: SingleLabel, NumLabels: 2}
	sentence := func() string {
		var w []string
		for range 1 + src.IntN(12) {
			w = append(w, words[src.IntN(len(words))])
		}
		return strings.Join(w, " ")
	}
	for i := range n {
		ex := Example{Text: sentence(), Label: src.IntN(2), Line: i + 2}
		if i%5 == 0 {
			ex.TextB, ex.Pair = sentence(), true
		}
		task.Examples = append(task.Examples, ex)
	}
	return task
}

// Batches are formed by index and every batch's logits go to their own
// slots, so the result does not depend on the number of workers or
// GOMAXPROCS; nor, for a classifier that ignores padding, on the batch
// size.
func TestClassifyDeterministic(t *testing.T) {
	task := randomReviews(5, 157)
	clf := sentimentClassifier(t, 12) // some examples are truncated
	run := func(workers, batch int) string {
		res, err := Classify(context.Background(), clf, task, ClassifyOptions{Workers: workers, Batch: batch, Details: true})
		if err != nil {
			t.Fatal(err)
		}
		res.Protocol.Batch = 0
		data, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	want := run(1, 1)
	if !strings.Contains(want, `"truncated":`) || strings.Contains(want, `"truncated":0`) {
		t.Fatalf("no example was truncated: %.300s", want)
	}
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	for _, gmp := range []int{1, 3} {
		runtime.GOMAXPROCS(gmp)
		for _, w := range []int{0, 1, 2, 7} {
			for _, b := range []int{0, 1, 4, 32, 500} {
				if got := run(w, b); got != want {
					t.Fatalf("GOMAXPROCS %d, %d workers, batch %d: a different result", gmp, w, b)
				}
			}
		}
	}
}

// Inputs longer than the max length are truncated as Hugging Face does
// (longest_first for pairs), and the classifier sees the truncated tokens.
func TestClassifyTruncatesPairs(t *testing.T) {
	// Class 1 when every word of the second text occurs in the first.
	tok := bertTokenizer(t)
	clf := &ruleClassifier{
		info: ClassifierInfo{Problem: SingleLabel, Labels: []string{"no", "yes"}, MaxLength: 64, Tokenizer: tok},
		rule: func(a, b []string) []float32 {
			for _, w := range b {
				if !slices.Contains(a, w) {
					return []float32{1, 0}
				}
			}
			return []float32{0, 1}
		},
	}
	task := &LabelledTask{Format: "jsonl", Path: "pairs.jsonl", Problem: SingleLabel, NumLabels: 2, Examples: []Example{
		{Text: "a b c d", TextB: "d", Pair: true, Label: 1, Line: 1},
		{Text: "a", TextB: "a", Pair: true, Label: 1, Line: 2},
	}}
	full, err := Classify(context.Background(), clf, task, ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Max length 5 leaves 2 tokens after [CLS] [SEP] [SEP]: longest_first
	// keeps "a" | "d" of the first pair (now class 0); the second fits.
	cut, err := Classify(context.Background(), clf, task, ClassifyOptions{MaxLength: 5})
	if err != nil {
		t.Fatal(err)
	}
	if *full.Accuracy != 1 || full.Truncated != 0 || full.Tokens != 8+5 {
		t.Errorf("untruncated: accuracy %v truncated %d tokens %d; want 1, 0, 13", *full.Accuracy, full.Truncated, full.Tokens)
	}
	if *cut.Accuracy != 0.5 || cut.Truncated != 1 || cut.Tokens != 5+5 || !reflect.DeepEqual(cut.Confusion, [][]int{{0, 0}, {1, 1}}) {
		t.Errorf("max length 5: accuracy %v truncated %d tokens %d confusion %v; want 0.5, 1, 10, [[0 0] [1 1]]",
			*cut.Accuracy, cut.Truncated, cut.Tokens, cut.Confusion)
	}
	if _, err := Classify(context.Background(), clf, task, ClassifyOptions{MaxLength: 2}); err == nil || !strings.Contains(err.Error(), "pairs.jsonl:1: truncation") {
		t.Errorf("max length below the special tokens: err %v", err)
	}
}

func TestClassifyMultiLabelAndRegression(t *testing.T) {
	tok := bertTokenizer(t)
	has := func(words []string, set []string) float32 {
		for _, w := range words {
			if slices.Contains(set, w) {
				return 3
			}
		}
		return -3
	}
	multi := &ruleClassifier{
		info: ClassifierInfo{Problem: MultiLabel, Labels: []string{"praise", "blame", "negation"}, MaxLength: 32, Tokenizer: tok},
		rule: func(a, _ []string) []float32 {
			return []float32{has(a, positiveWords), has(a, negativeWords), has(a, []string{"not"})}
		},
	}
	// Predicted sets: {praise}, {blame, negation}, {}, {praise, blame}.
	path := writeTemp(t, "ml.jsonl", `{"text": "good film", "label": ["praise"]}`+"\n"+
		`{"text": "not bad", "label": ["negation"]}`+"\n"+`{"text": "the plot", "label": []}`+"\n"+
		`{"text": "fun but dull", "label": ["praise", "blame"]}`+"\n")
	res, err := ClassifyFile(context.Background(), multi, path, ClassifyOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Exact sets 3 of 4; support 2 1 1, predicted 2 2 1, correct 2 1 1:
	// micro F1 2·4/(4+5) = 8/9; macro (1 + 2/3 + 1)/3 = 8/9.
	m := res.Metrics()
	if m[MetricAccuracy] != 0.75 || !near(m[MetricMicroF1], 8.0/9) || !near(m[MetricMacroF1], 8.0/9) || len(m) != 4 || res.Confusion != nil {
		t.Errorf("multi-label metrics %v confusion %v", m, res.Confusion)
	}
	reg := &ruleClassifier{
		info: ClassifierInfo{Problem: Regression, Labels: []string{"score"}, MaxLength: 32, Tokenizer: tok},
		rule: func(a, _ []string) []float32 { return []float32{polarity(a)} },
	}
	// Predictions 1, −1, 0 for targets 1.5, −1, 0.5: squared errors 0.25 0 0.25.
	path = writeTemp(t, "reg.tsv", "text\tlabel\ngood\t1.5\nbad\t-1\nthe plot\t0.5\n")
	res, err = ClassifyFile(context.Background(), reg, path, ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m = res.Metrics()
	if _, ok := m[MetricAccuracy]; ok || !near(m[MetricMSE], 1.0/6) || !near(m[MetricSpearman], 1) || m[MetricPearson] <= 0.9 || res.PerClass != nil {
		t.Errorf("regression metrics %v per class %v", m, res.PerClass)
	}
}

// failingClassifier returns what out says for each batch.
type failingClassifier struct {
	info ClassifierInfo
	out  func(in Batch) ([]float32, error)
}

func (c failingClassifier) Info() ClassifierInfo                         { return c.info }
func (c failingClassifier) NewRunner(int, int) (ClassifierRunner, error) { return c, nil }
func (c failingClassifier) Classify(in Batch) ([]float32, error)         { return c.out(in) }

func TestClassifyErrors(t *testing.T) {
	path := writeTemp(t, "reviews.tsv", handReviews)
	info := sentimentClassifier(t, 512).info
	ctx := context.Background()
	for _, c := range []struct {
		name string
		clf  Classifier
		opts ClassifyOptions
		want string
	}{
		{"non-finite logit", failingClassifier{info, func(in Batch) ([]float32, error) {
			out := make([]float32, 2*in.B)
			out[2*in.B-1] = float32(math.NaN())
			return out, nil
		}}, ClassifyOptions{Batch: 3}, "reviews.tsv:4: logit 1 is NaN"},
		{"wrong count", failingClassifier{info, func(in Batch) ([]float32, error) { return make([]float32, in.B), nil }},
			ClassifyOptions{Batch: 4}, "reviews.tsv: examples at lines 2–5: the classifier gave 4 logits, want 4×2"},
		{"classifier error", failingClassifier{info, func(in Batch) ([]float32, error) { return nil, errors.New("out of memory") }},
			ClassifyOptions{}, "reviews.tsv: examples at lines 2–9: out of memory"},
		{"max length", sentimentClassifier(t, 512), ClassifyOptions{MaxLength: 513}, "max length 513: want 1…512"},
		{"no tokenizer", failingClassifier{ClassifierInfo{Problem: SingleLabel, Labels: []string{"a", "b"}, MaxLength: 8}, nil},
			ClassifyOptions{}, "classifier: no tokenizer"},
		{"one label", failingClassifier{ClassifierInfo{Problem: SingleLabel, Labels: []string{"a"}, MaxLength: 8}, nil},
			ClassifyOptions{}, "needs at least 2 labels"},
	} {
		_, err := ClassifyFile(ctx, c.clf, path, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	// A task read for another classifier.
	task, err := ReadLabelled(path, LabelOptions{NumLabels: 3, Label2ID: map[string]int{"negative": 0, "positive": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Classify(ctx, sentimentClassifier(t, 512), task, ClassifyOptions{}); err == nil ||
		!strings.Contains(err.Error(), "read as a single_label_classification task with 3 labels") {
		t.Errorf("mismatched task: err %v", err)
	}
	// A cancelled context stops the evaluation.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ClassifyFile(cancelled, sentimentClassifier(t, 512), path, ClassifyOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
}

// Progress counts examples, batch by batch, and ends at the total.
func TestClassifyProgress(t *testing.T) {
	var calls []string
	_, err := Classify(context.Background(), sentimentClassifier(t, 64), randomReviews(1, 10), ClassifyOptions{
		Batch: 4, Workers: 1, Limit: 9, Progress: func(done, total int) { calls = append(calls, fmt.Sprint(done, "/", total)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"4/9", "8/9", "9/9"}; !slices.Equal(calls, want) {
		t.Errorf("progress %v, want %v", calls, want)
	}
}
