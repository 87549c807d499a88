package pruning

import (
	"fmt"
	"math"

	"lopper/internal/par"
	"lopper/model/tensor"
)

// SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can
// Be Accurately Pruned in One-Shot", ICML 2023), following the authors'
// reference code (IST-DASLab sparsegpt.py, fasterprune) step for step; the
// Hessian, its dampening and its inverse factor are float64, the weight
// updates float32 as in the reference.

// obsFactor is what SparseGPT needs of a layer input's Hessian H = XᵀX:
// the upper Cholesky factor U of (H + δI)⁻¹ and the dead inputs. The
// weights that share an input (q, k, v; gate, up) share one factor.
type obsFactor struct {
	cols int
	u    []float64 // cols × cols, upper triangular
	dead []bool    // inputs that were always 0 (H_ii = 0)
}

// newOBSFactor prepares h (cols × cols, consumed) as the reference does:
// dead inputs get H_ii = 1 (their weights are zeroed), then δ = percdamp ×
// mean(diag H) is added to the diagonal, then U = chol((H + δI)⁻¹) upper.
func newOBSFactor(h []float64, cols int, percdamp float64) (*obsFactor, error) {
	f := &obsFactor{cols: cols, u: h, dead: make([]bool, cols)}
	var mean float64
	for i := range cols {
		if h[i*cols+i] == 0 {
			h[i*cols+i] = 1
			f.dead[i] = true
		}
		mean += h[i*cols+i]
	}
	damp := percdamp * mean / float64(cols)
	for i := range cols {
		h[i*cols+i] += damp
	}
	if err := invCholUpper(h, cols); err != nil {
		return nil, fmt.Errorf("the dampened Hessian of the input cannot be inverted: %w", err)
	}
	return f, nil
}

// obsTarget is one weight matrix to prune with SparseGPT.
type obsTarget struct {
	w          []float32 // rows × cols, updated in place
	mask       []byte    // rows × cols; 0 = pruned (in: already, out: now)
	rows, cols int
	sparsity   float64 // unstructured target (ignored when n > 0)
	n, m       int     // n:m pattern: at most n of every m inputs survive
	blockSize  int
}

// sparseGPT prunes t with the OBS updates of f. Column blocks of
// blockSize are processed left to right; within a block, each column's
// pruning error is spread over the block's later columns through U's row,
// and after the block the accumulated errors update all later columns at
// once (a matrix product). Unstructured masks are chosen per block, before
// its updates, by w²/U_ii² with unstructuredCount pruned per block; n:m
// masks are chosen per group of m columns as the updates reach it.
// Weights already pruned stay pruned and count toward the targets.
func sparseGPT(t obsTarget, f *obsFactor) {
	rows, cols, bs := t.rows, t.cols, t.blockSize
	for j, d := range f.dead {
		if d {
			for r := range rows {
				t.w[r*cols+j] = 0
			}
		}
	}
	diag := make([]float32, cols)
	for j := range cols {
		diag[j] = float32(f.u[j*cols+j])
	}
	errs := make([]float32, rows*bs)  // the block's scaled errors, [rows, bs]
	ublk := make([]float32, bs*bs)    // U[i1:i2, i1:i2]
	urest := make([]float32, bs*cols) // U[i1:i2, i2:]
	upd := make([]float32, rows*cols) // errs · urest
	score := make([]float32, rows*bs) // w²/U_ii² of the block (unstructured)
	for i1 := 0; i1 < cols; i1 += bs {
		i2 := min(i1+bs, cols)
		cnt, rest := i2-i1, cols-i2
		for i := range cnt {
			toF32(ublk[i*cnt:(i+1)*cnt], f.u[(i1+i)*cols+i1:(i1+i)*cols+i2])
			toF32(urest[i*rest:(i+1)*rest], f.u[(i1+i)*cols+i2:(i1+i+1)*cols])
		}
		if t.n == 0 {
			chooseBlockMask(t, diag, score, i1, i2)
		}
		par.Chunks(rows, 16, func(lo, hi int) {
			var nmScore [64]float32
			for r := lo; r < hi; r++ {
				w := t.w[r*cols+i1 : r*cols+i2]
				k := t.mask[r*cols+i1 : r*cols+i2]
				e := errs[r*cnt : (r+1)*cnt]
				for i := range cnt {
					if t.n > 0 && i%t.m == 0 {
						g := nmScore[:t.m]
						for c := range g {
							g[c] = obsScore(w[i+c], diag[i1+i+c])
						}
						pruneLowest(g, k[i:i+t.m], t.m-t.n)
					}
					q := w[i]
					if k[i] == 0 {
						q = 0
					}
					d := (w[i] - q) / diag[i1+i]
					w[i] = q
					e[i] = d
					if d != 0 {
						tensor.Axpy(w[i+1:], -d, ublk[i*cnt+i+1:(i+1)*cnt])
					}
				}
			}
		})
		if rest > 0 {
			tensor.MatMulNN(upd[:rows*rest], errs[:rows*cnt], urest[:cnt*rest], rows, rest, cnt, false)
			par.Chunks(rows, 64, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					w, u := t.w[r*cols+i2:(r+1)*cols], upd[r*rest:(r+1)*rest]
					for j, v := range u {
						w[j] -= v
					}
				}
			})
		}
	}
}

// obsScore is the reference's saliency w²/[H⁻¹]_ii², with [H⁻¹]_ii taken
// as U_ii as the reference does.
func obsScore(w, d float32) float32 { return w * w / (d * d) }

// chooseBlockMask marks the block [i1, i2) of every row of t: the
// unstructuredCount lowest w²/U_ii² of the block over all rows (already
// pruned entries counting toward it).
func chooseBlockMask(t obsTarget, diag, score []float32, i1, i2 int) {
	cnt := i2 - i1
	g := group{zeros: unstructuredCount(t.sparsity, t.rows*cnt)}
	for r := range t.rows {
		s := score[r*cnt : (r+1)*cnt]
		w := t.w[r*t.cols+i1 : r*t.cols+i2]
		for i, v := range w {
			s[i] = obsScore(v, diag[i1+i])
		}
		g.segs = append(g.segs, segment{score: s, mask: t.mask[r*t.cols+i1 : r*t.cols+i2]})
	}
	g.prune()
}

// unstructuredCount is how many of n entries a SparseGPT block prunes at
// sparsity s. The reference sorts the scores and prunes those ≤ the one at
// index int(n·s), that is int(n·s)+1 entries (without ties), which makes
// its sparsity a hair above s; lopper does the same so that its results
// match the reference, and prunes nothing at s = 0.
func unstructuredCount(s float64, n int) int {
	if s <= 0 {
		return 0
	}
	return min(n, int(math.Floor(float64(n)*s))+1)
}

// toF32 converts src into dst.
func toF32(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}
