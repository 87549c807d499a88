package model

import (
	"fmt"
	"math"

	"lopper/internal/par"
)

// CrossEntropy returns the mean negative log-likelihood of targets under
// logits ([len(targets), V]), over the targets that are ≥ 0 (negative
// targets are ignored). When dlogits is non-nil it is overwritten with the
// gradient of that mean (zero rows for ignored targets). Row losses are
// computed in float64 and summed in row order, so the result does not
// depend on GOMAXPROCS.
func CrossEntropy(logits []float32, targets []int32, V int, dlogits []float32) (float64, error) {
	n := len(targets)
	if V <= 0 || len(logits) != n*V {
		return 0, fmt.Errorf("cross entropy: %d logits for %d targets × vocab %d", len(logits), n, V)
	}
	if dlogits != nil && len(dlogits) != len(logits) {
		return 0, fmt.Errorf("cross entropy: dlogits has %d values, want %d", len(dlogits), len(logits))
	}
	count := 0
	for i, t := range targets {
		if int(t) >= V {
			return 0, fmt.Errorf("cross entropy: target %d at row %d is outside the vocabulary of %d", t, i, V)
		}
		if t >= 0 {
			count++
		}
	}
	losses := make([]float64, n)
	inv := 1 / float64(max(count, 1))
	par.Chunks(n, rowChunk, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			row := logits[r*V : (r+1)*V]
			var drow []float32
			if dlogits != nil {
				drow = dlogits[r*V : (r+1)*V]
			}
			losses[r] = rowCrossEntropy(row, targets[r], drow, inv)
		}
	})
	var sum float64
	for _, l := range losses {
		sum += l
	}
	return sum * inv, nil
}

// rowCrossEntropy returns -log softmax(row)[t] (0 when t < 0) and, if drow
// is non-nil, writes (softmax(row) - onehot(t))·scale into it.
func rowCrossEntropy(row []float32, t int32, drow []float32, scale float64) float64 {
	if t < 0 {
		clear(drow)
		return 0
	}
	mx := row[0]
	for _, v := range row[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for j, v := range row {
		e := math.Exp(float64(v - mx))
		sum += e
		if drow != nil {
			drow[j] = float32(e)
		}
	}
	if drow != nil {
		k := scale / sum
		for j := range drow {
			drow[j] = float32(float64(drow[j]) * k)
		}
		drow[t] -= float32(scale)
	}
	return float64(mx) + math.Log(sum) - float64(row[t])
}
