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
func workingMask(m *model.Model, targets []model.TensorInfo) *model.Mask {
	mask := m.Mask.Clone()
	if mask == nil {
		mask = m.Layout.NewMask()
	}
	for _, t := range targets { // one after the other: neighbours may share a word
		mask.ClearZeros(t.Of(m.W), t.Offset)
	}
	return mask
}

// spanBytes returns mask's entries over [lo, hi) as one byte each (1 kept,
// 0 pruned): the selection's scratch, which its parallel groups write
// without sharing words; Mask.Pack stores them back.
func spanBytes(mask *model.Mask, lo, hi int) []byte {
	k := make([]byte, hi-lo)
	mask.Unpack(k, lo)
	return k
}

// selectOver is selectMask for targets anywhere in the layout, with scores
// flat over it, into mask (over it too): the targets' span is selected as
// bytes (spanBytes) and their entries packed back.
func selectOver(o Options, m *model.Model, targets []model.TensorInfo, scores []float32, mask *model.Mask, p *phase) []float64 {
	if len(targets) == 0 {
		return selectMask(o, m, nil, nil, nil, nil, p)
	}
	ts, lo, hi := rebase(targets)
	k := spanBytes(mask, lo, hi)
	layerS := selectMask(o, m, ts, scores[lo:hi], k, nil, p)
	for i, t := range ts {
		mask.Pack(targets[i].Offset, k[t.Offset:t.Offset+t.Size])
	}
	return layerS
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
