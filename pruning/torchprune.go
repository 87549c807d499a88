package pruning

import (
	"errors"
	"fmt"
	"math"
)

// torch.nn.utils.prune's semantics, reproduced exactly (PyTorch 1.13):
// amounts, rounding, and repeated pruning, where a second call's amount
// applies to the entries the first left. lopper's own Prune instead treats
// a sparsity as the target for the whole group, counting what is already
// pruned (see doc.go); these functions are for users and tests that want
// torch's behaviour.

// Amount is torch's amount: a count of entries (or of rows/columns for
// LnStructured) or a fraction in [0, 1] of them.
type Amount struct {
	Count  int
	Frac   float64
	IsFrac bool
}

// Count and Fraction build Amounts.
func Count(n int) Amount { return Amount{Count: n} }

// Fraction is a fractional amount.
func Fraction(f float64) Amount { return Amount{Frac: f, IsFrac: true} }

// of is how many of n to prune: a count as given, a fraction f as
// round(f·n) with Python's round-half-even. It refuses what torch refuses.
func (a Amount) of(n int) (int, error) {
	if a.IsFrac {
		if !(a.Frac >= 0 && a.Frac <= 1) {
			return 0, fmt.Errorf("amount=%g should either be a float in the range [0, 1] or a non-negative integer", a.Frac)
		}
		return int(math.RoundToEven(a.Frac * float64(n))), nil
	}
	if a.Count < 0 {
		return 0, fmt.Errorf("amount=%d should either be a float in the range [0, 1] or a non-negative integer", a.Count)
	}
	if a.Count > n {
		return 0, fmt.Errorf("amount=%d should be smaller than the number of parameters to prune=%d", a.Count, n)
	}
	return a.Count, nil
}

// L1Unstructured is prune.l1_unstructured: among the entries mask keeps
// (all of them when mask is nil), the amount with the smallest |w| are
// pruned; a fractional amount is a fraction of those survivors. It returns
// the new mask (0 pruned, 1 kept); mask itself is not modified.
func L1Unstructured(w []float32, mask []byte, a Amount) ([]byte, error) {
	masks, err := GlobalUnstructured([][]float32{w}, [][]byte{mask}, a)
	if err != nil {
		return nil, err
	}
	return masks[0], nil
}

// GlobalUnstructured is prune.global_unstructured with L1Unstructured:
// one selection over all the tensors' surviving entries taken together, in
// order (masks[i] nil means tensor i is dense). Equal magnitudes are
// resolved as torch.topk resolves them (torchTopK).
func GlobalUnstructured(ws [][]float32, masks [][]byte, a Amount) ([][]byte, error) {
	if len(masks) != len(ws) {
		return nil, fmt.Errorf("%d masks for %d tensors", len(masks), len(ws))
	}
	out := make([][]byte, len(ws))
	type pos struct{ t, j int }
	var vals []float64
	var at []pos
	for i, w := range ws {
		k := make([]byte, len(w))
		switch {
		case masks[i] == nil:
			for j := range k {
				k[j] = 1
			}
		case len(masks[i]) != len(w):
			return nil, fmt.Errorf("tensor %d: mask has %d entries for %d weights", i, len(masks[i]), len(w))
		default:
			copy(k, masks[i])
		}
		for j, v := range w {
			if k[j] != 0 {
				vals = append(vals, math.Abs(float64(v)))
				at = append(at, pos{i, j})
			}
		}
		out[i] = k
	}
	n, err := a.of(len(vals))
	if err != nil {
		return nil, err
	}
	for _, s := range torchTopK(vals, n, false) {
		out[at[s].t][at[s].j] = 0
	}
	return out, nil
}

// LnStructured is prune.ln_structured on a rows × cols matrix: whole rows
// (dim 0) or columns (dim 1) are pruned: torch keeps the amount's
// complement with the largest p-norms (torchTopK) (p = 1, 2 or +Inf, see StructureNorms), amount counting rows or
// columns. The norms are of w as given (torch computes them on the masked
// weight); the result is also multiplied by mask when mask is not nil.
func LnStructured(w []float32, rows, cols int, mask []byte, a Amount, p float64, dim int) ([]byte, error) {
	norms, err := StructureNorms(w, rows, cols, p, dim)
	if err != nil {
		return nil, err
	}
	if mask != nil && len(mask) != len(w) {
		return nil, errors.New("mask and weight differ in size")
	}
	k, err := a.of(len(norms))
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(w))
	for i := range out {
		out[i] = 1
		if mask != nil {
			out[i] = mask[i]
		}
	}
	if k == 0 {
		return out, nil
	}
	keep := make([]bool, len(norms))
	for _, s := range torchTopK(norms, len(norms)-k, true) {
		keep[s] = true
	}
	for s, kept := range keep {
		if kept {
			continue
		}
		if dim == 0 {
			clear(out[s*cols : (s+1)*cols])
			continue
		}
		for r := range rows {
			out[r*cols+s] = 0
		}
	}
	return out, nil
}
