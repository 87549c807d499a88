package eval

import "math"

// logProb returns log softmax(row)[target] computed in float64 (the
// log-sum-exp is shifted by the row's maximum), and whether target is the
// row's argmax (the first maximal index, as torch.argmax returns).
func logProb(row []float32, target int32) (lp float64, top bool) {
	best := 0
	maxv := row[0]
	for i, v := range row {
		if v > maxv {
			maxv, best = v, i
		}
	}
	m := float64(maxv)
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - m)
	}
	return float64(row[target]) - m - math.Log(sum), best == int(target)
}
