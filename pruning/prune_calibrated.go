package pruning

import (
	"context"
	"fmt"

	"lopper/model"
)

// The calibrated drivers: Wanda block by block and SparseGPT. Both prune w
// (a clone that Prune owns) in place, block by block, so that each block's
// statistics see the earlier blocks pruned, and hand each block's targets
// to fin once nothing reads them again.

// calibratedBlocks groups targets by block, refusing targets outside the
// blocks (only the blocks' linear layers have calibration inputs), and
// computes OWL's per-block sparsities when the scope is OWL (nil
// otherwise).
func calibratedBlocks(ctx context.Context, m *model.Model, targets []model.TensorInfo, o Options) ([][]model.TensorInfo, []float64, error) {
	byBlock, outside := blockTargets(targets, m.Config.NumLayers())
	if len(outside) > 0 {
		return nil, nil, fmt.Errorf("tensor %q is outside the transformer blocks: calibration statistics exist only for the blocks' linear layers", outside[0].Name)
	}
	if o.Scope != ScopeOWL {
		return byBlock, nil, nil
	}
	layerS, err := owlFromWanda(ctx, m, targets, byBlock, o)
	return byBlock, layerS, err
}

// pruneWandaSequential prunes with Wanda scores computed block by block
// (Sun et al.'s prune_wanda). It returns OWL's per-block sparsities when
// the scope is OWL.
func pruneWandaSequential(ctx context.Context, w *model.Model, targets []model.TensorInfo, o Options, fin *finisher) ([]float64, error) {
	byBlock, layerS, err := calibratedBlocks(ctx, w, targets, o)
	if err != nil {
		return nil, err
	}
	var buf []float32 // one block's scores, reused block after block
	step := func(l int, stats *statSet) error {
		// Scores for this block only, over the span of its targets.
		mask, err := fin.begin(ctx, byBlock[l])
		if err != nil {
			return err
		}
		ts, lo, hi := rebase(byBlock[l])
		if cap(buf) < hi-lo {
			buf = make([]float32, hi-lo)
		}
		scores := buf[:hi-lo]
		clear(scores)
		if err := wandaScores(w.W[lo:hi], ts, stats, scores, nil); err != nil {
			return err
		}
		if err := checkScores(ts, scores); err != nil {
			return err
		}
		selectMask(o, w, ts, scores, mask, layerS, nil)
		zeroPruned(w.W[lo:hi], mask, ts)
		return nil
	}
	done := func(l int) error { return fin.finish(byBlock[l]) }
	return layerS, calibrateSequential(ctx, w, o.Calib, statNorms, byBlock, step, done, o.Progress)
}

// owlFromWanda returns OWL's per-block sparsities from Wanda scores of the
// model as it is, calibrated in one pass (OWL's reference code does this
// before it prunes block by block). The scores are computed block by
// block, each block's targets pinned meanwhile.
func owlFromWanda(ctx context.Context, m *model.Model, targets []model.TensorInfo, byBlock [][]model.TensorInfo, o Options) ([]float64, error) {
	stats, err := calibrateOnePass(ctx, m, o.Calib, statNorms, targets, o.Progress)
	if err != nil {
		return nil, err
	}
	ratio := make([]float64, len(byBlock))
	var buf []float32
	for l, bts := range byBlock {
		if len(bts) == 0 {
			continue
		}
		ts, lo, hi := rebase(bts)
		if cap(buf) < hi-lo {
			buf = make([]float32, hi-lo)
		}
		scores := buf[:hi-lo]
		if err := m.Pin(ctx, bts...); err != nil {
			return nil, err
		}
		err := wandaScores(m.W[lo:hi], ts, stats, scores, nil)
		m.Unpin(bts...)
		if err == nil {
			err = checkScores(ts, scores)
		}
		if err != nil {
			return nil, err
		}
		ratio[l] = outlierRatio(ts, scores, o.OWL.M)
	}
	return owlFromRatios(byBlock, ratio, o.Sparsity, o.OWL), nil
}

// pruneSparseGPT prunes every target with SparseGPT, its Hessian collected
// block by block (or, in one-pass mode, all from the dense model). It
// returns OWL's per-block sparsities when the scope is OWL. Progress
// counts the tensors pruned (in one-pass mode after the calibration
// windows).
func pruneSparseGPT(ctx context.Context, w *model.Model, targets []model.TensorInfo, o Options, fin *finisher) ([]float64, error) {
	byBlock, layerS, err := calibratedBlocks(ctx, w, targets, o)
	if err != nil {
		return nil, err
	}
	var p *phase // tensors pruned: after a one-pass calibration, or from the first block
	step := func(l int, stats *statSet) error {
		if len(byBlock[l]) == 0 {
			return nil
		}
		factors := map[*InputStats]*obsFactor{}
		mask, err := fin.begin(ctx, byBlock[l]) // pinned until fin.finish
		if err != nil {
			return err
		}
		local, _, _ := rebase(byBlock[l])
		for i, t := range byBlock[l] {
			if err := ctx.Err(); err != nil {
				return err
			}
			st, err := stats.of(t)
			if err != nil {
				return err
			}
			f := factors[st]
			if f == nil {
				if f, err = newOBSFactor(st.Hessian, st.Cols, o.SparseGPT.PercDamp); err != nil {
					return fmt.Errorf("tensor %q: %w", t.Name, err)
				}
				factors[st] = f
			}
			rows, cols := rowsCols(t)
			s := o.Sparsity
			if layerS != nil {
				s = layerS[l]
			}
			sparseGPT(obsTarget{
				w: t.Of(w.W), mask: mask[local[i].Offset : local[i].Offset+t.Size], rows: rows, cols: cols,
				sparsity: s, n: o.Pattern.N, m: o.Pattern.M, blockSize: o.SparseGPT.BlockSize,
			}, f)
			p.add(1)
		}
		return nil
	}
	if o.CalibMode == OnePass {
		// Each block as its statistics are complete: a lazy model's block
		// is then decoded once (calibrateOnePassBlocks).
		begin := func() { p = o.Progress.start(len(targets), UnitTensorsPruned) }
		return layerS, calibrateOnePassBlocks(ctx, w, o.Calib, statHessian, targets, byBlock, o.Progress, begin, func(l int, stats *statSet) error {
			if err := step(l, stats); err != nil {
				return err
			}
			return fin.finish(byBlock[l])
		})
	}
	p = o.Progress.start(len(targets), UnitTensorsPruned)
	done := func(l int) error { return fin.finish(byBlock[l]) }
	return layerS, calibrateSequential(ctx, w, o.Calib, statHessian, byBlock, step, done, nil)
}

// rebase returns ts with offsets relative to the start of their span in
// the layout, and that span [lo, hi), so that per-block buffers can be
// indexed like layout-wide ones.
func rebase(ts []model.TensorInfo) (out []model.TensorInfo, lo, hi int) {
	lo, hi = ts[0].Offset, ts[0].Offset
	for _, t := range ts {
		lo, hi = min(lo, t.Offset), max(hi, t.Offset+t.Size)
	}
	out = make([]model.TensorInfo, len(ts))
	for i, t := range ts {
		t.Offset -= lo
		out[i] = t
	}
	return out, lo, hi
}
