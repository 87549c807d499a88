package pruning

import (
	"errors"
	"fmt"

	"lopper/model"
)

// DryRun reports what Prune(m, o) would do without scoring or pruning:
// the matched tensors and, per tensor and in total, the non-zeros that
// would remain. Counts that depend on scores (the split of a global
// selection across tensors, OWL's per-layer ratios) are −1. It needs no
// calibration data, though it checks any that is given. It counts the
// weights of a resident model: a lazy one (model.Open) is refused.
func DryRun(m *model.Model, o Options) (*Report, error) {
	if m.Lazy() {
		return nil, errors.New("a dry run counts the weights of a loaded model (model.Load), not of an opened one")
	}
	o, targets, err := checkWeightOptions(m, o)
	if err != nil {
		return nil, err
	}
	rep := newReport(m, o, targets, true)
	rep.DryRun = true
	mask := workingMask(m, targets)
	total, known := 0, true
	for i, t := range targets {
		z := plannedZeros(o, t, spanBytes(mask, t.Offset, t.Offset+t.Size))
		if z < 0 {
			rep.Tensors[i].NonZeroAfter = -1
			known = false
			continue
		}
		rep.Tensors[i].NonZeroAfter = t.Size - z
		total += t.Size - z
	}
	switch {
	case o.Scope == ScopeGlobal && o.Pattern.Kind != NM:
		pruned := 0
		for _, t := range targets {
			pruned += t.Size - mask.CountRange(t.Offset, t.Offset+t.Size)
		}
		rep.NonZeroAfter = rep.Params - max(countFor(o.Sparsity, rep.Params), pruned)
	case known:
		rep.NonZeroAfter = total
	default:
		rep.NonZeroAfter = -1
	}
	return rep, nil
}

// CheckOptions checks unstructured or N:M options against m as DryRun and
// Prune do (method, scope, pattern, targets, and calibration data when
// given), without counting, scoring or allocating anything per parameter.
func CheckOptions(m *model.Model, o Options) error {
	_, _, err := checkWeightOptions(m, o)
	return err
}

// checkWeightOptions normalizes o and selects its targets in m.
func checkWeightOptions(m *model.Model, o Options) (Options, []model.TensorInfo, error) {
	o, err := o.normalize()
	if err != nil {
		return o, nil, err
	}
	if o.Pattern.structured() {
		return o, nil, fmt.Errorf("a dry run lists weight targets; pattern %s removes whole structures (use Prune)", o.Pattern)
	}
	targets, err := o.targets(m, false)
	return o, targets, err
}

// plannedZeros is how many zeros tensor t (its mask k) ends with, or −1
// when that depends on scores.
func plannedZeros(o Options, t model.TensorInfo, k []byte) int {
	rows, cols := rowsCols(t)
	// Zeros of a group of runs [r·cols+lo, r·cols+hi) for r in [r0, r1).
	block := func(r0, r1, lo, hi int) int {
		z := 0
		for r := r0; r < r1; r++ {
			z += zerosIn(k[r*cols+lo : r*cols+hi])
		}
		return z
	}
	z := 0
	switch {
	case o.Pattern.Kind == NM:
		for r := range rows {
			for g := 0; g < cols; g += o.Pattern.M {
				z += max(o.Pattern.M-o.Pattern.N, block(r, r+1, g, g+o.Pattern.M))
			}
		}
	case o.Scope == ScopeOWL || o.Scope == ScopeGlobal:
		return -1
	case o.Method == SparseGPT:
		bs := o.SparseGPT.BlockSize
		for i1 := 0; i1 < cols; i1 += bs {
			i2 := min(cols, i1+bs)
			z += max(unstructuredCount(o.Sparsity, rows*(i2-i1)), block(0, rows, i1, i2))
		}
	case o.Scope == ScopeRow:
		for r := range rows {
			z += max(countFor(o.Sparsity, cols), block(r, r+1, 0, cols))
		}
	default: // layer
		z = max(countFor(o.Sparsity, t.Size), zerosIn(k))
	}
	return z
}

func zerosIn(k []byte) int {
	z := 0
	for _, v := range k {
		if v == 0 {
			z++
		}
	}
	return z
}
