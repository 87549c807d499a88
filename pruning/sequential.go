package pruning

import (
	"context"

	"lopper/model"
)

// blockStep prunes the targets of block layer in the working model, given
// the statistics of their inputs collected on the dense block.
type blockStep func(layer int, stats *statSet) error

// blockDone is told that block layer's targets are final and that the
// calibration will not read the block again.
type blockDone func(layer int) error

// calibrateSequential runs the calibration windows through w block by
// block, as the Wanda and SparseGPT reference code does: the windows are
// embedded once; for each block with targets, the block runs on a copy of
// its inputs with a hook collecting the statistics of its linear layers'
// inputs, step prunes the block (mutating w.W), and the block's outputs are
// then recomputed from the same inputs with the pruned weights, becoming
// the next block's inputs; done is then told the block is finished. Memory: the calibration set's hidden states plus
// one batch of one block's activations; of a lazy model, the embedding
// while the windows are embedded, then one block (pinned from its
// statistics pass until done returns). Progress counts the blocks done,
// 0..last block with targets.
func calibrateSequential(ctx context.Context, w *model.Model, cal *Calibration, kinds statKinds, byBlock [][]model.TensorInfo, step blockStep, done blockDone, progress ProgressFunc) error {
	if enc, err := forEncoder(w, cal); enc || err != nil {
		if err != nil {
			return err
		}
		return encoderSequential(ctx, w, cal, kinds, byBlock, step, done, progress)
	}
	last := lastTargetBlock(byBlock)
	if last < 0 {
		return nil
	}
	T, B, H := cal.SeqLen, cal.batch(), w.Config.Hidden
	st, err := model.NewInferenceState(w, B, T)
	if err != nil {
		return err
	}
	r := &seqRun{w: w, st: st, n: cal.Samples(), T: T, B: B, H: H, kinds: kinds, step: step, done: done}
	if r.h, err = embedAll(ctx, st, w, cal); err != nil {
		return err
	}
	r.scratch = make([]float32, B*T*H)
	p := progress.start(last+1, UnitBlocks)
	for l := 0; l <= last; l++ {
		if err := r.block(ctx, l, byBlock[l], l < last); err != nil {
			return err
		}
		p.to(l + 1)
	}
	return nil
}

// embedAll embeds every calibration window into the hidden states of the
// first block, the embedding pinned once for them all.
func embedAll(ctx context.Context, st *model.State, w *model.Model, cal *Calibration) ([]float32, error) {
	n, T, B, H := cal.Samples(), cal.SeqLen, cal.batch(), w.Config.Hidden
	emb := w.Layout.EmbedTensors()
	if err := w.Pin(ctx, emb...); err != nil {
		return nil, err
	}
	defer w.Unpin(emb...)
	h := make([]float32, n*T*H)
	for i := 0; i < n; i += B {
		j := min(n, i+B)
		e, err := st.Embed(cal.window(i, j), j-i, T)
		if err != nil {
			return nil, err
		}
		copy(h[i*T*H:], e)
	}
	return h, nil
}

// seqRun is one sequential calibration: the hidden states h of its n
// windows of T tokens entering the current block, run B at a time.
type seqRun struct {
	w          *model.Model
	st         *model.State
	h, scratch []float32
	n, T, B, H int
	kinds      statKinds
	step       blockStep
	done       blockDone
}

// forBatches calls fn on the hidden states of each batch of windows.
func (r *seqRun) forBatches(ctx context.Context, fn func(x []float32, b int) error) error {
	n, T, B, H := r.n, r.T, r.B, r.H
	for i := 0; i < n; i += B {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := min(n, i+B)
		if err := fn(r.h[i*T*H:j*T*H], j-i); err != nil {
			return err
		}
	}
	return nil
}

// block runs block l, whose targets are ts: their statistics and step
// when it has targets, its outputs when a later block needs them (next),
// then done. The block stays pinned throughout: a lazy model's is decoded
// once, and step's edits stay until done has them.
func (r *seqRun) block(ctx context.Context, l int, ts []model.TensorInfo, next bool) error {
	block := r.w.Layout.BlockTensors(l)
	if err := r.w.Pin(ctx, block...); err != nil {
		return err
	}
	defer r.w.Unpin(block...)
	if len(ts) > 0 {
		stats := newStatSet(r.kinds, ts)
		err := r.forBatches(ctx, func(x []float32, b int) error {
			s := r.scratch[:len(x)]
			copy(s, x)
			return r.st.BlockForward(l, s, b, r.T, stats.hook)
		})
		if err != nil {
			return err
		}
		if err := r.step(l, stats); err != nil {
			return err
		}
	}
	if next { // a later block is pruned: it needs this one's outputs
		err := r.forBatches(ctx, func(x []float32, b int) error {
			return r.st.BlockForward(l, x, b, r.T, nil)
		})
		if err != nil {
			return err
		}
	}
	if len(ts) > 0 {
		// Its outputs are computed: nothing reads block l again.
		return r.done(l)
	}
	return nil
}

// lastTargetBlock is the last block with targets, −1 when none has.
func lastTargetBlock(byBlock [][]model.TensorInfo) int {
	last := -1
	for l, ts := range byBlock {
		if len(ts) > 0 {
			last = l
		}
	}
	return last
}

// calibrateOnePass collects the statistics of every target's input from
// the model as it is (dense), in one pass over the calibration windows,
// reporting the windows done to progress.
func calibrateOnePass(ctx context.Context, m *model.Model, cal *Calibration, kinds statKinds, targets []model.TensorInfo, progress ProgressFunc) (*statSet, error) {
	if enc, err := forEncoder(m, cal); enc || err != nil {
		if err != nil {
			return nil, err
		}
		return encoderOnePass(ctx, m, cal, kinds, targets, progress)
	}
	stats := newStatSet(kinds, targets)
	last := -1
	for _, t := range targets {
		last = max(last, t.Layer)
	}
	n, T, B := cal.Samples(), cal.SeqLen, cal.batch()
	st, err := model.NewInferenceState(m, B, T)
	if err != nil {
		return nil, err
	}
	if last < 0 {
		return stats, nil
	}
	p := progress.start(n, UnitWindows)
	for i := 0; i < n; i += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j := min(n, i+B)
		h, err := st.Embed(cal.window(i, j), j-i, T)
		if err != nil {
			return nil, err
		}
		for l := 0; l <= last; l++ {
			if err := st.BlockForward(l, h, j-i, T, stats.hook); err != nil {
				return nil, err
			}
		}
		p.to(j)
	}
	return stats, stats.err
}

// calibrateOnePassBlocks is calibrateOnePass followed by each(l, stats)
// for every block l from 0 to the last with targets (byBlock: targets by
// block, none outside the blocks), in order; begin is
// called once before the first each. Of a lazy model whose calibration
// windows fit one batch, each(l) runs instead right after block l's
// calibration pass, with the block still pinned from it: its statistics
// are complete then, and the later blocks read the outputs the pass has
// already computed from the dense block, so the results are the same,
// the hidden states are one batch as before, and each block is decoded
// once instead of twice (once for the calibration, once for each). Block
// l's statistics are dropped after each(l), so that SparseGPT holds one
// block's Hessians instead of every block's (beside the calibration's
// state, which the other order frees before pruning). Progress: the
// windows (after their embedding, in that case), then whatever begin
// starts.
func calibrateOnePassBlocks(ctx context.Context, m *model.Model, cal *Calibration, kinds statKinds, targets []model.TensorInfo, byBlock [][]model.TensorInfo, progress ProgressFunc, begin func(), each func(l int, stats *statSet) error) error {
	last := lastTargetBlock(byBlock)
	enc, _ := forEncoder(m, cal)
	if !m.Lazy() || enc || cal == nil || cal.Samples() > cal.batch() || last < 0 {
		stats, err := calibrateOnePass(ctx, m, cal, kinds, targets, progress)
		if err != nil {
			return err
		}
		begin()
		for l := 0; l <= last; l++ {
			if err := each(l, stats); err != nil {
				return err
			}
		}
		return nil
	}
	stats := newStatSet(kinds, targets)
	n, T := cal.Samples(), cal.SeqLen
	st, err := model.NewInferenceState(m, n, T)
	if err != nil {
		return err
	}
	p := progress.start(n, UnitWindows)
	h, err := st.Embed(cal.window(0, n), n, T)
	if err != nil {
		return err
	}
	p.to(n)
	begin()
	for l := 0; l <= last; l++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := onePassBlock(ctx, m, st, l, h, n, T, stats, each); err != nil {
			return err
		}
		stats.drop(byBlock[l])
	}
	return nil
}

// onePassBlock runs block l on h with stats' hook and calls each(l) while
// the block is still pinned.
func onePassBlock(ctx context.Context, m *model.Model, st *model.State, l int, h []float32, n, T int, stats *statSet, each func(l int, stats *statSet) error) error {
	block := m.Layout.BlockTensors(l)
	if err := m.Pin(ctx, block...); err != nil {
		return err
	}
	defer m.Unpin(block...)
	if err := st.BlockForward(l, h, n, T, stats.hook); err != nil {
		return err
	}
	if stats.err != nil {
		return stats.err
	}
	return each(l, stats)
}
