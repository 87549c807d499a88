package pruning

import (
	"context"

	"lopper/internal/par"
	"lopper/model"
)

// The tensor-by-tensor driver: when every comparison group lies inside one
// tensor (scope row or layer, N:M) and a tensor's scores depend only on
// its own weights (magnitude, random, one-pass Wanda), the scores of one
// tensor at a time are enough. Prune then holds a buffer the size of the
// largest target instead of four bytes per parameter of the model, and
// chooses the same weights: the scores and the groups are the same, only
// their order of computation differs.

// byTensor reports whether o can prune tensor by tensor.
func byTensor(o Options) bool {
	switch {
	case o.Method == Wanda && o.CalibMode != OnePass:
		return false // block by block: pruneWandaSequential
	case o.Method != Magnitude && o.Method != Random && o.Method != Wanda:
		return false
	}
	return o.Pattern.Kind == NM || o.Scope == ScopeRow || o.Scope == ScopeLayer
}

// pruneByTensor scores and prunes the targets of w one at a time, into
// their mask from fin, handing each to fin when it is pruned. Wanda's statistics come from one pass over the calibration windows
// first. Progress: the calibration windows (Wanda), then the tensors
// pruned.
func pruneByTensor(ctx context.Context, w *model.Model, targets []model.TensorInfo, o Options, fin *finisher) error {
	var stats *statSet
	if o.Method == Wanda {
		var err error
		if stats, err = calibrateOnePass(ctx, w, o.Calib, statNorms, targets, o.Progress); err != nil {
			return err
		}
	}
	p := o.Progress.start(len(targets), UnitTensorsPruned)
	var buf []float32
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		mask, err := fin.begin(ctx, []model.TensorInfo{t}) // pinned until fin.finish
		if err != nil {
			return err
		}
		if cap(buf) < t.Size {
			buf = make([]float32, t.Size)
		}
		scores, wt := buf[:t.Size], t.Of(w.W)
		_, cols := rowsCols(t)
		switch o.Method {
		case Magnitude:
			par.Chunks(len(wt)/cols, rowsPerTask(cols), func(lo, hi int) { absInto(scores[lo*cols:hi*cols], wt[lo*cols:hi*cols]) })
		case Random:
			randomInto(scores, o.Seed, t.Offset)
		case Wanda:
			norms, err := inputNorms(stats, t)
			if err != nil {
				return err
			}
			par.Chunks(len(wt)/cols, rowsPerTask(cols), func(lo, hi int) {
				wandaRows(scores[lo*cols:hi*cols], wt[lo*cols:hi*cols], cols, norms)
			})
		}
		local := t
		local.Offset = 0 // scores and mask below are the tensor's own
		one := []model.TensorInfo{local}
		if err := checkScores(one, scores); err != nil {
			return err
		}
		selectMask(o, w, one, scores, mask, nil, nil)
		if err := fin.finish([]model.TensorInfo{t}); err != nil {
			return err
		}
		p.add(1)
	}
	return nil
}

// rowsPerTask is how many rows of cols entries one parallel task scores:
// about 64k entries.
func rowsPerTask(cols int) int { return max(1, (1<<16)/max(cols, 1)) }
