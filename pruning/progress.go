package pruning

import "sync"

// ProgressFunc is told how far a pruning or scoring call has come, for
// callers that show progress on long work (block-by-block calibration of a
// large model takes minutes to hours). A call runs through phases, each
// counting its own unit:
//
//   - "calibration windows": forward (and, for Taylor, backward) passes over
//     the calibration windows in one pass over the model as it is (one-pass
//     Wanda and SparseGPT statistics, OWL's layer ratios, Taylor gradients,
//     Block Influence, activation norms of structures);
//   - "blocks": block-by-block (sequential) calibration, a block counting
//     once it is calibrated and pruned;
//   - "tensors scored": scores computed from weights (and statistics);
//   - "tensors pruned": masks chosen, and for SparseGPT each linear layer
//     pruned and its weights reconstructed; where every comparison group
//     lies in one tensor (scope row or layer, N:M) magnitude, random and
//     one-pass Wanda score and prune each tensor in turn, in this phase
//     alone;
//   - "layers scored": structured scores per transformer block.
//
// Each phase starts with done = 0 and ends, when the call succeeds, with
// done = total; in between done only grows. Calls are serialised but may
// come from any goroutine. Progress never changes a result: pruning with
// and without it gives the same bits.
type ProgressFunc func(done, total int, unit string)

// The units of ProgressFunc's phases.
const (
	UnitWindows       = "calibration windows"
	UnitBlocks        = "blocks"
	UnitTensorsScored = "tensors scored"
	UnitTensorsPruned = "tensors pruned"
	UnitLayersScored  = "layers scored"
)

// phase is one phase of a ProgressFunc. A nil *phase (no ProgressFunc)
// does nothing, so call sites need no checks.
type phase struct {
	fn          ProgressFunc
	unit        string
	total, done int
	mu          sync.Mutex
}

// start begins a phase of total units, reporting done = 0. It returns nil
// when f is nil.
func (f ProgressFunc) start(total int, unit string) *phase {
	if f == nil {
		return nil
	}
	f(0, total, unit)
	return &phase{fn: f, unit: unit, total: total}
}

// add counts n more units done and reports the new count.
func (p *phase) add(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = min(p.total, p.done+n)
	p.fn(p.done, p.total, p.unit)
}

// to reports done units when that is more than reported so far.
func (p *phase) to(done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if done > p.done {
		p.done = min(p.total, done)
		p.fn(p.done, p.total, p.unit)
	}
}

// tally reports the tensors of a phase whose work is split into groups
// (rows, tensors, one group for all): a tensor counts as done once all its
// groups are. A nil *tally does nothing.
type tally struct {
	p      *phase
	owners []int // per group, its tensor's index, or -1: every tensor
	mu     sync.Mutex
	left   []int // per tensor, its groups not yet done
	done   int   // tensors done
}

// newTally prepares a tally of tensors tensors whose groups belong to
// owners; nil when p is nil.
func newTally(p *phase, owners []int, tensors int) *tally {
	if p == nil {
		return nil
	}
	t := &tally{p: p, owners: owners, left: make([]int, tensors)}
	for _, o := range owners {
		if o >= 0 {
			t.left[o]++
		}
	}
	return t
}

// groupsDone counts groups [lo, hi) as done and reports the tensors that
// are now complete.
func (t *tally) groupsDone(lo, hi int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	for _, o := range t.owners[lo:hi] {
		switch {
		case o < 0:
			t.done = len(t.left)
		default:
			if t.left[o]--; t.left[o] == 0 {
				t.done++
			}
		}
	}
	done := t.done
	t.mu.Unlock()
	t.p.to(done)
}
