package pruning

import (
	"math"
	"slices"

	"lopper/internal/par"
	"lopper/model"
)

// owlSparsities returns a sparsity per block (index = layer) by OWL,
// outlier-weighted layerwise sparsity (Yin et al., ICML 2024, and its
// reference code):
//
//  1. a block's outlier ratio D_l is the fraction of its targets' scores
//     greater than M times their mean (scores pooled over all the block's
//     targets);
//  2. the ratios are rescaled linearly to [0, 2λ] (min → 0, max → 2λ) and
//     shifted so their mean is the target density 1 − s;
//  3. block l's sparsity is 1 minus that density, clamped to [0, 1].
//
// Blocks with more outliers thus keep more weights, and the mean sparsity
// over blocks stays s (before clamping; blocks of different sizes make the
// overall parameter sparsity differ slightly, as in the paper). Blocks
// without targets get s; when every ratio is equal the result is uniform.
func owlSparsities(byBlock [][]model.TensorInfo, scores []float32, s float64, o OWLOptions) []float64 {
	ratio := make([]float64, len(byBlock))
	par.For(len(byBlock), func(l int) {
		ratio[l] = outlierRatio(byBlock[l], scores, o.M)
	})
	return owlFromRatios(byBlock, ratio, s, o)
}

// owlFromRatios is steps 2 and 3 of owlSparsities, given every block's
// outlier ratio.
func owlFromRatios(byBlock [][]model.TensorInfo, ratio []float64, s float64, o OWLOptions) []float64 {
	var used []float64
	for l, ts := range byBlock {
		if len(ts) > 0 {
			used = append(used, ratio[l])
		}
	}
	out := make([]float64, len(byBlock))
	for l := range out {
		out[l] = s
	}
	if len(used) == 0 {
		return out
	}
	lo, hi := slices.Min(used), slices.Max(used)
	if hi == lo {
		return out
	}
	scale := 2 * o.Lambda / (hi - lo)
	var mean float64
	for _, r := range used {
		mean += (r - lo) * scale
	}
	mean /= float64(len(used))
	for l, ts := range byBlock {
		if len(ts) == 0 {
			continue
		}
		density := (ratio[l]-lo)*scale - mean + (1 - s)
		out[l] = math.Min(1, math.Max(0, 1-density))
	}
	return out
}

// outlierRatio is the fraction of the scores of ts greater than m times
// their mean.
func outlierRatio(ts []model.TensorInfo, scores []float32, m float64) float64 {
	var sum float64
	n := 0
	for _, t := range ts {
		for _, v := range t.Of(scores) {
			sum += float64(v)
		}
		n += t.Size
	}
	if n == 0 {
		return 0
	}
	thresh := m * sum / float64(n)
	out := 0
	for _, t := range ts {
		for _, v := range t.Of(scores) {
			if float64(v) > thresh {
				out++
			}
		}
	}
	return float64(out) / float64(n)
}
