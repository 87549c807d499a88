package train

import (
	"fmt"
	"math"

	"lopper/internal/par"
)

// rowChunk is the fixed number of rows per parallel task, fixed so that
// results do not depend on GOMAXPROCS.
const rowChunk = 16

// addDistill turns dlogits, the gradient of the mean cross-entropy lm,
// into the gradient of the distillation loss
//
//	loss = (1 − α)·CE + α·T²·KL(p_T ‖ q_T)
//
// with p_T = softmax(teacher/T), q_T = softmax(student/T), the KL term a
// mean over the rows whose target is ≥ 0, like CE. It returns the loss and
// its KL·T² term.
func addDistill(student, teacher []float32, targets []int32, V int, d Distill, lm float64, dlogits []float32) (total, kd float64, err error) {
	if len(teacher) != len(student) || len(student) != len(targets)*V || len(dlogits) != len(student) {
		return 0, 0, fmt.Errorf("distillation: %d teacher and %d student logits for %d targets × vocab %d", len(teacher), len(student), len(targets), V)
	}
	n := 0
	for _, t := range targets {
		if t >= 0 {
			n++
		}
	}
	keep := float32(1 - d.Alpha)
	for i := range dlogits {
		dlogits[i] *= keep
	}
	kd = distillKL(student, teacher, targets, V, d.Temperature, d.Alpha, n, dlogits)
	return (1-d.Alpha)*lm + d.Alpha*kd, kd, nil
}

// distillKL returns mean over scored rows of T²·KL(softmax(teacher/T) ‖
// softmax(student/T)) and adds alpha times its gradient with respect to the
// student logits, T·(q − p)/n per scored row, to dlogits. Rows are computed
// in float64, in parallel over fixed chunks, and summed in row order.
func distillKL(student, teacher []float32, targets []int32, V int, T, alpha float64, n int, dlogits []float32) float64 {
	rows := len(targets)
	losses := make([]float64, rows)
	if n == 0 {
		return 0
	}
	scale := alpha * T / float64(n)
	par.Chunks(rows, rowChunk, func(r0, r1 int) {
		p := make([]float64, V)
		q := make([]float64, V)
		for r := r0; r < r1; r++ {
			if targets[r] < 0 {
				continue
			}
			lp := logSoftmax(teacher[r*V:(r+1)*V], T, p)
			lq := logSoftmax(student[r*V:(r+1)*V], T, q)
			var kl float64
			drow := dlogits[r*V : (r+1)*V]
			for j := range V {
				pj, qj := math.Exp(p[j]-lp), math.Exp(q[j]-lq)
				if pj > 0 {
					kl += pj * ((p[j] - lp) - (q[j] - lq))
				}
				drow[j] += float32(scale * (qj - pj))
			}
			losses[r] = kl * T * T
		}
	})
	var sum float64
	for _, l := range losses {
		sum += l
	}
	return sum / float64(n)
}

// logSoftmax fills out with row/T (in float64) and returns the log of the
// sum of its exponentials, so that log softmax = out − result.
func logSoftmax(row []float32, T float64, out []float64) float64 {
	mx := math.Inf(-1)
	for j, v := range row {
		out[j] = float64(v) / T
		mx = math.Max(mx, out[j])
	}
	var s float64
	for _, v := range out {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}
