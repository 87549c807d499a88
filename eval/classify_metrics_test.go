package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func names(k int) []string {
	var out []string
	for c := range k {
		out = append(out, fmt.Sprintf("c%d", c))
	}
	return out
}

// Two small cases worked out by hand.
func TestSingleLabelMetricsHandChecked(t *testing.T) {
	// Binary: tp 3 (positions 0, 2, 7), fn 1 (1), fp 1 (4), tn 3 (3, 5, 6).
	s := scoreSingleLabel([]int{1, 1, 1, 0, 0, 0, 0, 1}, []int{1, 0, 1, 0, 1, 0, 0, 1}, names(2))
	// accuracy 6/8; each class has support 4, predicted 4, correct 3, so
	// precision = recall = F1 = 0.75; MCC = (3·3 − 1·1)/√(4·4·4·4) = 0.5.
	if s.correct != 6 || s.accuracy != 0.75 || s.macroF1 != 0.75 || s.mcc != 0.5 {
		t.Errorf("binary: correct %d accuracy %v macro_f1 %v mcc %v; want 6, 0.75, 0.75, 0.5", s.correct, s.accuracy, s.macroF1, s.mcc)
	}
	if want := [][]int{{3, 1}, {1, 3}}; !reflect.DeepEqual(s.confusion, want) {
		t.Errorf("confusion %v, want %v", s.confusion, want)
	}
	// Three classes: gold 0 0 1 2 2 2, predicted 0 1 1 2 2 0.
	s = scoreSingleLabel([]int{0, 0, 1, 2, 2, 2}, []int{0, 1, 1, 2, 2, 0}, names(3))
	// class 0: support 2, predicted 2, correct 1 → F1 2/4;
	// class 1: support 1, predicted 2, correct 1 → F1 2/3;
	// class 2: support 3, predicted 2, correct 2 → F1 4/5.
	wantPer := []ClassCount{
		{"c0", 2, 2, 1, 0.5, 0.5, 0.5},
		{"c1", 1, 2, 1, 0.5, 1, 2.0 / 3},
		{"c2", 3, 2, 2, 1, 2.0 / 3, 0.8},
	}
	if !reflect.DeepEqual(s.perClass, wantPer) {
		t.Errorf("per class\n got %+v\nwant %+v", s.perClass, wantPer)
	}
	// macro F1 = (1/2 + 2/3 + 4/5)/3 = 59/90. MCC: n 6, correct 4, true
	// counts 2 1 3, predicted 2 2 2: (4·6 − 12)/√((36 − 14)(36 − 12)).
	if !near(s.macroF1, 59.0/90) || !near(s.mcc, 12/math.Sqrt(22*24)) || s.accuracy != 4.0/6 {
		t.Errorf("accuracy %v macro_f1 %v mcc %v, want 4/6, 59/90, 12/√528", s.accuracy, s.macroF1, s.mcc)
	}
}

func TestMultiLabelAndRegressionHandChecked(t *testing.T) {
	// gold {0,1} {} {2} {1}; predicted {0} {} {1,2} {1}: exact matches 2 of 4.
	// class 0: support 1 predicted 1 correct 1 → F1 1; class 1: support 2,
	// predicted 2, correct 1 → F1 1/2; class 2: 1 1 1 → F1 1; class 3
	// never occurs → F1 0. micro: 2·3/(4+4) = 0.75; macro: 2.5/4.
	m := scoreMultiLabel([][]int{{0, 1}, {}, {2}, {1}}, [][]int{{0}, {}, {1, 2}, {1}}, names(4))
	if m.correct != 2 || m.accuracy != 0.5 || m.microF1 != 0.75 || m.macroF1 != 0.625 {
		t.Errorf("multi-label: correct %d accuracy %v micro %v macro %v; want 2, 0.5, 0.75, 0.625", m.correct, m.accuracy, m.microF1, m.macroF1)
	}
	// Predictions 1 2 3 5 for targets 1 3 2 4: squared errors 0 1 1 1.
	// Centred: x −1.75 −0.75 0.25 2.25 (Σx² 8.75), y −1.5 0.5 −0.5 1.5
	// (Σy² 5), Σxy 2.625+(−0.375)+(−0.125)+3.375 = 5.5.
	// Ranks: x 1 2 3 4, y 1 3 2 4: ρ = 1 − 6·2/(4·15) = 0.8.
	r := scoreRegression([]float64{1, 3, 2, 4}, []float64{1, 2, 3, 5})
	if r.mse != 0.75 || !near(*r.pearson, 5.5/math.Sqrt(8.75*5)) || !near(*r.spearman, 0.8) {
		t.Errorf("regression: mse %v pearson %v spearman %v", r.mse, *r.pearson, *r.spearman)
	}
	if c := scoreRegression([]float64{1, 2}, []float64{3, 3}); c.pearson != nil || c.spearman != nil || c.mse != 2.5 {
		t.Errorf("constant predictions: pearson %v spearman %v mse %v, want undefined, undefined, 2.5", c.pearson, c.spearman, c.mse)
	}
	// Ties share their mean rank (scipy.stats.rankdata's "average").
	if got, want := ranks([]float64{3, 1, 3, 2, 3}), []float64{4, 1, 4, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("ranks %v, want %v", got, want)
	}
}

// The goldens of testdata/gen_classify_metrics.py: exact rational
// arithmetic in plain Python, from the textbook formulas (F1 as the
// harmonic mean of precision and recall, MCC as the correlation of the
// one-hot labels). Per-class scores are single correctly rounded
// divisions on both sides and must agree bit for bit.
func TestClassificationMetricsGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/classify_metrics_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Single []struct {
			K          int
			Gold, Pred []int
			Acc        float64      `json:"accuracy"`
			Macro      float64      `json:"macro_f1"`
			Mcc        float64      `json:"mcc"`
			PerClass   [][6]float64 `json:"per_class"`
			Confusion  [][]int
		}
		Multi []struct {
			K          int
			Gold, Pred [][]int
			Acc        float64      `json:"accuracy"`
			Micro      float64      `json:"micro_f1"`
			Macro      float64      `json:"macro_f1"`
			PerClass   [][6]float64 `json:"per_class"`
		}
		Regression []struct {
			Gold, Pred        []float64
			MSE               float64 `json:"mse"`
			Pearson, Spearman *float64
		}
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	checkPer := func(name string, got []ClassCount, want [][6]float64) {
		for c, w := range want {
			p := got[c]
			if [6]float64{float64(p.Support), float64(p.Predicted), float64(p.Correct), p.Precision, p.Recall, p.F1} != w {
				t.Errorf("%s class %d: %+v, want %v", name, c, p, w)
			}
		}
	}
	for i, c := range g.Single {
		s := scoreSingleLabel(c.Gold, c.Pred, names(c.K))
		name := fmt.Sprintf("single %d", i)
		if !near(s.accuracy, c.Acc) || !near(s.macroF1, c.Macro) || !near(s.mcc, c.Mcc) {
			t.Errorf("%s: accuracy %v macro_f1 %v mcc %v, want %v %v %v", name, s.accuracy, s.macroF1, s.mcc, c.Acc, c.Macro, c.Mcc)
		}
		if !reflect.DeepEqual(s.confusion, c.Confusion) {
			t.Errorf("%s: confusion %v, want %v", name, s.confusion, c.Confusion)
		}
		checkPer(name, s.perClass, c.PerClass)
	}
	for i, c := range g.Multi {
		m := scoreMultiLabel(c.Gold, c.Pred, names(c.K))
		name := fmt.Sprintf("multi %d", i)
		if !near(m.accuracy, c.Acc) || !near(m.microF1, c.Micro) || !near(m.macroF1, c.Macro) {
			t.Errorf("%s: accuracy %v micro %v macro %v, want %v %v %v", name, m.accuracy, m.microF1, m.macroF1, c.Acc, c.Micro, c.Macro)
		}
		checkPer(name, m.perClass, c.PerClass)
	}
	for i, c := range g.Regression {
		r := scoreRegression(c.Gold, c.Pred)
		same := func(got, want *float64) bool {
			return (got == nil) == (want == nil) && (got == nil || near(*got, *want))
		}
		if !near(r.mse, c.MSE) || !same(r.pearson, c.Pearson) || !same(r.spearman, c.Spearman) {
			t.Errorf("regression %d: mse %v pearson %v spearman %v, want %v %v %v", i, r.mse, r.pearson, r.spearman, c.MSE, c.Pearson, c.Spearman)
		}
	}
	if len(g.Single) < 4 || len(g.Multi) < 1 || len(g.Regression) < 2 {
		t.Fatalf("golden file has %d/%d/%d cases", len(g.Single), len(g.Multi), len(g.Regression))
	}
}

// For two classes the multi-class MCC is the binary formula, and the F1
// from counts is the harmonic mean of precision and recall; Spearman's ρ
// without ties is 1 − 6Σd²/(n(n²−1)). Checked on random cases.
func TestMetricsAgainstOtherFormulas(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + src.IntN(60)
		gold, pred := make([]int, n), make([]int, n)
		var tp, tn, fp, fn float64
		for i := range n {
			gold[i], pred[i] = src.IntN(2), src.IntN(2)
			if trial%3 == 0 {
				pred[i] = gold[i] ^ b2i(src.IntN(5) == 0)
			}
			switch {
			case gold[i] == 1 && pred[i] == 1:
				tp++
			case gold[i] == 0 && pred[i] == 0:
				tn++
			case pred[i] == 1:
				fp++
			default:
				fn++
			}
		}
		s := scoreSingleLabel(gold, pred, names(2))
		want := 0.0
		if d := (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn); d != 0 {
			want = (tp*tn - fp*fn) / math.Sqrt(d)
		}
		if !near(s.mcc, want) {
			t.Fatalf("gold %v pred %v: mcc %v, binary formula %v", gold, pred, s.mcc, want)
		}
		for _, c := range s.perClass {
			hm := 0.0
			if c.Precision+c.Recall > 0 {
				hm = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
			}
			if !near(c.F1, hm) {
				t.Fatalf("%+v: F1 is not the harmonic mean %v", c, hm)
			}
		}
		x, y := src.Perm(n), src.Perm(n)
		fx, fy := make([]float64, n), make([]float64, n)
		d2 := 0.0
		for i := range n {
			fx[i], fy[i] = float64(x[i])*0.5-3, math.Exp(float64(y[i])/10)
			d2 += float64((x[i] - y[i]) * (x[i] - y[i]))
		}
		if n > 1 {
			rho := 1 - 6*d2/float64(n*(n*n-1))
			if r := scoreRegression(fy, fx); !near(*r.spearman, rho) {
				t.Fatalf("spearman %v, want %v", *r.spearman, rho)
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Classification metrics are counts, so they do not depend on the order of
// the examples: bit-identical for any permutation.
func TestSingleLabelMetricsOrderFree(t *testing.T) {
	src := rand.New(rand.NewPCG(3, 4))
	gold, pred := make([]int, 500), make([]int, 500)
	for i := range gold {
		gold[i], pred[i] = src.IntN(7), src.IntN(7)
	}
	want := scoreSingleLabel(gold, pred, names(7))
	src.Shuffle(len(gold), func(i, j int) { gold[i], gold[j], pred[i], pred[j] = gold[j], gold[i], pred[j], pred[i] })
	if got := scoreSingleLabel(gold, pred, names(7)); !reflect.DeepEqual(got, want) {
		t.Errorf("shuffled examples give other metrics:\n%+v\n%+v", got, want)
	}
}
