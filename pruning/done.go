package pruning

import (
	"context"
	"fmt"

	"lopper/internal/par"
	"lopper/model"
)

// Handing final targets to Options.Done. Without Done, pruning zeroes the
// pruned weights and counts what is left once, over the whole model, at
// the end (Model.ApplyMask, Report.finish). With Done, each target is
// zeroed and counted when its driver is done with it, then handed over, so
// that its weights need not be read again: the caller may have saved and
// dropped them.

// How Prune hands the targets to Options.Done (see Streaming).
const (
	StreamTensors = "tensor by tensor"
	StreamBlocks  = "block by block"
	StreamAtEnd   = "at the end"
)

// Streaming says when Prune(m, o) hands targets to o.Done: StreamTensors
// (scope row or layer, or N:M, with magnitude, random or one-pass Wanda),
// StreamBlocks (Wanda block by block, SparseGPT), or StreamAtEnd when every
// weight is needed until all are pruned (global scope, OWL with magnitude
// or one-pass Wanda, Taylor, an encoder's block-by-block calibration, which
// runs the whole model for every block). It is "" for the structured
// patterns, which never call Done, and for options Prune would refuse.
func Streaming(m *model.Model, o Options) string {
	return StreamingFor(&m.Config, o)
}

// StreamingFor is Streaming for a model of config c, before it is loaded.
func StreamingFor(c *model.Config, o Options) string {
	o, err := o.normalize()
	if err != nil || o.Pattern.structured() {
		return ""
	}
	calibrated := o.Method == SparseGPT || o.Method == Wanda && o.CalibMode == Sequential
	switch {
	case o.Method == SparseGPT && o.CalibMode == OnePass:
		return StreamBlocks
	case calibrated && c.Arch == model.BERT:
		return StreamAtEnd
	case calibrated:
		return StreamBlocks
	case byTensor(o):
		return StreamTensors
	}
	return StreamAtEnd
}

// Lazy reports whether PruneInPlace can prune a lazy model (model.Open)
// of config c as o says: its targets stream to Options.Done tensor by
// tensor or block by block (StreamingFor), and no encoder classifier's
// forward pass runs (those need a resident model).
func Lazy(c *model.Config, o Options) bool {
	switch StreamingFor(c, o) {
	case StreamTensors, StreamBlocks:
	default:
		return false
	}
	n, err := o.normalize()
	return err == nil && !(c.Arch == model.BERT && n.needsCalib())
}

// finisher gives the drivers the mask of the targets they work on
// (begin), one byte per entry over their span, and hands the targets of w
// to done as they become final (finish). With a resident model the mask
// is a bitset over the whole layout, made before pruning (workingMask):
// begin unpacks the span's entries and finish packs the targets' back.
// With a lazy model (Open, pruned in place and streamed) there is none:
// begin pins the targets, counts their non-zeros and builds their span's
// mask from their zeros, and finish unpins them once done has them,
// dropping their mask, so that only the targets in flight are resident,
// weights and mask.
type finisher struct {
	w        *model.Model
	mask     *model.Mask // over the layout; nil when lazy (w.Lazy())
	rep      *Report
	targets  []model.TensorInfo
	index    map[string]int // target name → index in targets and rep.Tensors
	finished []bool
	spans    [][]byte // per target, its bytes while in flight
	done     func(*model.Model, []model.TensorInfo) error
}

// newFinisher returns the finisher of w's targets. Without done nothing
// is handed over and end finishes the whole model. The finisher of a lazy
// w needs done, and mask nil.
func newFinisher(w *model.Model, mask *model.Mask, rep *Report, targets []model.TensorInfo, done func(*model.Model, []model.TensorInfo) error) *finisher {
	f := &finisher{w: w, mask: mask, rep: rep, targets: targets, done: done,
		index: make(map[string]int, len(targets)), finished: make([]bool, len(targets)),
		spans: make([][]byte, len(targets))}
	for i, t := range targets {
		f.index[t.Name] = i
	}
	return f
}

// begin readies ts (targets a driver is about to prune, pruned by
// nothing yet) and returns the mask of the span [lo, hi) they cover in
// the layout, one byte per entry, indexed as rebase(ts) is: of a resident
// model, the working mask's entries (packed back by finish). Of a lazy
// model it pins ts first (until finish), counts their non-zeros before
// pruning, and returns a fresh mask with their zeros pruned.
func (f *finisher) begin(ctx context.Context, ts []model.TensorInfo) ([]byte, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	_, lo, hi := rebase(ts)
	if !f.w.Lazy() {
		k := spanBytes(f.mask, lo, hi)
		for _, t := range ts {
			f.spans[f.index[t.Name]] = k[t.Offset-lo : t.Offset-lo+t.Size]
		}
		return k, nil
	}
	if err := f.w.Pin(ctx, ts...); err != nil {
		return nil, err
	}
	k := make([]byte, hi-lo)
	for i := range k {
		k[i] = 1
	}
	for _, t := range ts {
		kt := k[t.Offset-lo : t.Offset-lo+t.Size]
		w := t.Of(f.w.W)
		n := countChunks(len(w), func(lo, hi int) (n int) {
			for j := lo; j < hi; j++ {
				if w[j] == 0 {
					kt[j] = 0
				} else {
					n++
				}
			}
			return n
		})
		x := f.index[t.Name]
		f.rep.Tensors[x].NonZeroBefore = n
		f.spans[x] = kt
	}
	return k, nil
}

// keep packs the bytes begin gave out for resident targets ts into the
// working mask and drops them (a lazy model's stay until finish).
func (f *finisher) keep(ts []model.TensorInfo) {
	if f.w.Lazy() {
		return
	}
	for _, t := range ts {
		x := f.index[t.Name]
		if k := f.spans[x]; k != nil {
			f.mask.Pack(t.Offset, k)
			f.spans[x] = nil
		}
	}
}

// finish zeroes the pruned weights of ts (targets the driver is done
// with), records their non-zero counts in the report and hands them to
// done; of a lazy model it then unpins them and drops their mask. Without
// done it only stores a resident model's mask of ts (keep).
func (f *finisher) finish(ts []model.TensorInfo) error {
	f.keep(ts)
	if f.done == nil || len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		w, x := t.Of(f.w.W), f.index[t.Name]
		var n int
		if f.w.Lazy() {
			k := f.spans[x]
			n = countChunks(len(w), func(lo, hi int) (n int) {
				for j := lo; j < hi; j++ {
					if k[j] == 0 {
						w[j] = 0
					} else if w[j] != 0 {
						n++
					}
				}
				return n
			})
		} else {
			n = countChunks(len(w), func(lo, hi int) int {
				f.mask.ApplyTo(w[lo:hi], t.Offset+lo)
				return nonZeros(w[lo:hi])
			})
		}
		f.finished[x] = true
		f.rep.Tensors[x].NonZeroAfter = n
	}
	err := f.done(f.w, ts)
	if f.w.Lazy() {
		f.w.Unpin(ts...)
		for _, t := range ts {
			f.spans[f.index[t.Name]] = nil
		}
	}
	return err
}

// end finishes the targets not handed over yet, applies the mask to the
// other tensors of the model (what Model.ApplyMask does beyond the
// targets) and totals the report. Without done it applies the whole mask
// and counts every target's non-zeros.
func (f *finisher) end() error {
	if f.done == nil {
		f.w.ApplyMask()
		f.rep.finish(f.w, f.targets)
		return nil
	}
	var rest []model.TensorInfo
	for i, t := range f.targets {
		if !f.finished[i] {
			rest = append(rest, t)
		}
	}
	if f.w.Lazy() {
		// The streamed drivers hand every target over; the others of
		// a lazy model were refused before pruning.
		if len(rest) > 0 {
			return fmt.Errorf("tensor %q was never pruned", rest[0].Name)
		}
		// Its mask had ones beyond the targets (no mask before): the
		// other tensors are as they were.
		f.rep.NonZeroBefore = 0
		for _, t := range f.rep.Tensors {
			f.rep.NonZeroBefore += t.NonZeroBefore
		}
		f.rep.total()
		return nil
	}
	if err := f.finish(rest); err != nil {
		return err
	}
	var others []model.TensorInfo
	for _, t := range f.w.Layout.Tensors {
		if _, ok := f.index[t.Name]; !ok {
			others = append(others, t)
		}
	}
	zeroMasked(f.w.W, f.mask, others) // writes only where the mask prunes
	f.rep.total()
	return nil
}

// nonZeros counts the entries of w that are not exactly zero.
func nonZeros(w []float32) int {
	n := 0
	for _, v := range w {
		if v != 0 {
			n++
		}
	}
	return n
}

// countChunks runs fn over [0, n) in parallel chunks and sums what the
// chunks return.
func countChunks(n int, fn func(lo, hi int) int) int {
	const size = 1 << 16
	counts := make([]int, (n+size-1)/size)
	par.Chunks(n, size, func(lo, hi int) { counts[lo/size] = fn(lo, hi) })
	sum := 0
	for _, c := range counts {
		sum += c
	}
	return sum
}
