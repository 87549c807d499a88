package eval

import (
	"cmp"
	"math"
	"slices"
)

// ClassCount is one class's counts over the evaluated examples, and the
// scores they give (scikit-learn's definitions; a zero denominator gives 0,
// as its default zero_division).
type ClassCount struct {
	Label string `json:"label"`
	// Support counts the examples whose true label is (multi-label:
	// includes) the class, Predicted those predicted so, Correct both.
	Support   int `json:"support"`
	Predicted int `json:"predicted"`
	Correct   int `json:"correct"`
	// Precision = correct / predicted, Recall = correct / support,
	// F1 = 2·correct / (support + predicted).
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// newClassCount fills in the scores of the counts.
func newClassCount(label string, support, predicted, correct int) ClassCount {
	c := ClassCount{Label: label, Support: support, Predicted: predicted, Correct: correct}
	c.Precision = ratio(correct, predicted)
	c.Recall = ratio(correct, support)
	c.F1 = ratio(2*correct, support+predicted)
	return c
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// singleLabelScores are the metrics of single-label predictions.
type singleLabelScores struct {
	correct                int
	accuracy, macroF1, mcc float64
	perClass               []ClassCount
	confusion              [][]int // [true][predicted]
}

// scoreSingleLabel compares predicted classes with the true ones (both
// indices into labels):
//   - accuracy: the fraction predicted right;
//   - macro_f1: the mean of the classes' F1 over the classes that occur as a
//     true or a predicted label (scikit-learn's f1_score(average="macro"),
//     whose labels default to those present);
//   - mcc: Matthews' correlation coefficient, in its multi-class form
//     (Gorodkin's R_K, scikit-learn's matthews_corrcoef), which for two
//     classes is (tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn)); 0 when
//     the denominator is 0.
//
// Counts are integers and the float64 sums run in class order, so the
// result depends only on the predictions.
func scoreSingleLabel(gold, pred []int, labels []string) singleLabelScores {
	k := len(labels)
	s := singleLabelScores{confusion: make([][]int, k)}
	for i := range s.confusion {
		s.confusion[i] = make([]int, k)
	}
	for i, g := range gold {
		s.confusion[g][pred[i]]++
	}
	support, predicted := make([]int64, k), make([]int64, k)
	sumF1, present := 0.0, 0
	for c := range k {
		for j := range k {
			support[c] += int64(s.confusion[c][j])
			predicted[c] += int64(s.confusion[j][c])
		}
		cc := newClassCount(labels[c], int(support[c]), int(predicted[c]), s.confusion[c][c])
		s.perClass = append(s.perClass, cc)
		s.correct += cc.Correct
		if cc.Support+cc.Predicted > 0 {
			sumF1 += cc.F1
			present++
		}
	}
	n := int64(len(gold))
	s.accuracy = ratio(s.correct, len(gold))
	if present > 0 {
		s.macroF1 = sumF1 / float64(present)
	}
	// R_K from the confusion matrix's sums, exactly in integers.
	var tp, pp, tt int64
	for c := range k {
		tp += support[c] * predicted[c]
		pp += predicted[c] * predicted[c]
		tt += support[c] * support[c]
	}
	cov := int64(s.correct)*n - tp
	varP, varT := n*n-pp, n*n-tt
	if varP > 0 && varT > 0 {
		s.mcc = float64(cov) / math.Sqrt(float64(varT)*float64(varP))
	}
	return s
}

// multiLabelScores are the metrics of multi-label predictions.
type multiLabelScores struct {
	correct                    int
	accuracy, microF1, macroF1 float64
	perClass                   []ClassCount
}

// scoreMultiLabel compares predicted class sets with the true ones (each
// ascending, indices into labels):
//   - accuracy: subset accuracy, the fraction whose set is exactly right;
//   - micro_f1: 2·Σcorrect / (Σsupport + Σpredicted) over all classes;
//   - macro_f1: the mean of every class's F1, a class that is never true
//     nor predicted counting 0 (scikit-learn's f1_score(average="macro")
//     on indicator matrices).
func scoreMultiLabel(gold, pred [][]int, labels []string) multiLabelScores {
	k := len(labels)
	support, predicted, correct := make([]int, k), make([]int, k), make([]int, k)
	var s multiLabelScores
	for i, g := range gold {
		if slices.Equal(g, pred[i]) {
			s.correct++
		}
		for _, c := range g {
			support[c]++
			if _, ok := slices.BinarySearch(pred[i], c); ok {
				correct[c]++
			}
		}
		for _, c := range pred[i] {
			predicted[c]++
		}
	}
	var sumS, sumP, sumC int
	sumF1 := 0.0
	for c := range k {
		cc := newClassCount(labels[c], support[c], predicted[c], correct[c])
		s.perClass = append(s.perClass, cc)
		sumF1 += cc.F1
		sumS, sumP, sumC = sumS+support[c], sumP+predicted[c], sumC+correct[c]
	}
	s.accuracy = ratio(s.correct, len(gold))
	s.microF1 = ratio(2*sumC, sumS+sumP)
	s.macroF1 = sumF1 / float64(k)
	return s
}

// regressionScores are the metrics of predicted numbers.
type regressionScores struct {
	mse               float64
	pearson, spearman *float64 // nil when undefined (a constant side)
}

// scoreRegression compares predictions with targets: the mean squared
// error, Pearson's r, and Spearman's ρ (Pearson's r of the ranks, ties
// given their average rank, as scipy.stats.spearmanr). Sums run in float64
// in example order.
func scoreRegression(gold, pred []float64) regressionScores {
	var s regressionScores
	for i, g := range gold {
		d := pred[i] - g
		s.mse += d * d
	}
	s.mse /= float64(len(gold))
	if r, ok := pearson(pred, gold); ok {
		s.pearson = &r
	}
	if r, ok := pearson(ranks(pred), ranks(gold)); ok {
		s.spearman = &r
	}
	return s
}

// pearson is Pearson's correlation of x and y (two passes: means, then
// centred sums), clamped to [−1, 1]; false when either is constant.
func pearson(x, y []float64) (float64, bool) {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	n := float64(len(x))
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0, false
	}
	return max(-1, min(1, sxy/math.Sqrt(sxx*syy))), true
}

// ranks are the 1-based ranks of x, ties given the mean of their ranks.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for lo := 0; lo < len(idx); {
		hi := lo + 1
		for hi < len(idx) && x[idx[hi]] == x[idx[lo]] {
			hi++
		}
		avg := float64(lo+1+hi) / 2 // mean of the ranks lo+1 … hi
		for _, i := range idx[lo:hi] {
			r[i] = avg
		}
		lo = hi
	}
	return r
}
