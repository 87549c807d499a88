package pruning

import (
	"math"

	"lopper/internal/par"
	"lopper/model"
)

// countFor is the number of pruned entries a group of n ends with at
// sparsity s: round-half-even(s·n), torch.nn.utils.prune's rule.
func countFor(s float64, n int) int { return int(math.RoundToEven(s * float64(n))) }

// workingMask returns the mask to prune into: a copy of m's mask (all ones
// when m is dense) in which every exactly-zero weight of the targets is
// marked pruned.
func workingMask(m *model.Model, targets []model.TensorInfo) []byte {
	var mask []byte
	if m.Mask != nil {
		mask = append([]byte(nil), m.Mask...)
	} else {
		mask = m.Layout.NewMask()
	}
	par.For(len(targets), func(i int) {
		t := targets[i]
		w, k := t.Of(m.W), mask[t.Offset:t.Offset+t.Size]
		for j, v := range w {
			if v == 0 {
				k[j] = 0
			}
		}
	})
	return mask
}

// unstructuredGroups returns the comparison groups of scope over targets:
// one per output row (row, owl), per tensor (layer) or one for all
// (global). The target sparsity is s, or for a tensor of block l
// layerS[l] when layerS is set (OWL). scores and mask are flat over the
// layout. owners holds, per group, the index of its tensor in targets, or
// -1 for the global group of every target.
func unstructuredGroups(scope Scope, targets []model.TensorInfo, scores []float32, mask []byte, s float64, layerS []float64) (gs []group, owners []int) {
	sparsity := func(t model.TensorInfo) float64 {
		if layerS != nil && t.Layer >= 0 && t.Layer < len(layerS) {
			return layerS[t.Layer]
		}
		return s
	}
	seg := func(t model.TensorInfo, lo, hi int) segment {
		return segment{score: scores[t.Offset+lo : t.Offset+hi], mask: mask[t.Offset+lo : t.Offset+hi]}
	}
	switch scope {
	case ScopeGlobal:
		g := group{}
		n := 0
		for _, t := range targets {
			g.segs = append(g.segs, seg(t, 0, t.Size))
			n += t.Size
		}
		g.zeros = countFor(s, n)
		gs, owners = append(gs, g), append(owners, -1)
	case ScopeLayer:
		for i, t := range targets {
			gs = append(gs, group{segs: []segment{seg(t, 0, t.Size)}, zeros: countFor(sparsity(t), t.Size)})
			owners = append(owners, i)
		}
	default: // row, owl
		for i, t := range targets {
			rows, cols := rowsCols(t)
			z := countFor(sparsity(t), cols)
			for r := range rows {
				gs = append(gs, group{segs: []segment{seg(t, r*cols, (r+1)*cols)}, zeros: z})
				owners = append(owners, i)
			}
		}
	}
	return gs, owners
}

// pruneGroups prunes every group (in parallel when there are many) and
// returns how many entries were pruned, telling tl as groups finish.
func pruneGroups(gs []group, tl *tally) int {
	if len(gs) == 1 {
		n := gs[0].prune()
		tl.groupsDone(0, 1)
		return n
	}
	done := make([]int, len(gs))
	par.Chunks(len(gs), 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			done[i] = gs[i].prune()
		}
		tl.groupsDone(lo, hi)
	})
	total := 0
	for _, d := range done {
		total += d
	}
	return total
}
