package pruning

import (
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
	o, err := o.normalize()
	if err != nil || o.Pattern.structured() {
		return ""
	}
	calibrated := o.Method == SparseGPT || o.Method == Wanda && o.CalibMode == Sequential
	switch {
	case o.Method == SparseGPT && o.CalibMode == OnePass:
		return StreamBlocks
	case calibrated && m.Config.Arch == model.BERT:
		return StreamAtEnd
	case calibrated:
		return StreamBlocks
	case byTensor(o):
		return StreamTensors
	}
	return StreamAtEnd
}

// finisher hands the targets of w to done as they become final.
type finisher struct {
	w        *model.Model
	mask     []byte
	rep      *Report
	targets  []model.TensorInfo
	index    map[string]int // target name → index in targets and rep.Tensors
	finished []bool
	done     func(*model.Model, []model.TensorInfo) error
}

// newFinisher returns nil when done is nil: then nothing is handed over
// and Prune finishes the whole model at the end.
func newFinisher(w *model.Model, mask []byte, rep *Report, targets []model.TensorInfo, done func(*model.Model, []model.TensorInfo) error) *finisher {
	if done == nil {
		return nil
	}
	f := &finisher{w: w, mask: mask, rep: rep, targets: targets, done: done,
		index: make(map[string]int, len(targets)), finished: make([]bool, len(targets))}
	for i, t := range targets {
		f.index[t.Name] = i
	}
	return f
}

// finish zeroes the pruned weights of ts (targets the driver is done
// with), records their non-zero counts in the report and hands them to
// done. It does nothing on a nil finisher.
func (f *finisher) finish(ts []model.TensorInfo) error {
	if f == nil || len(ts) == 0 {
		return nil
	}
	zeroPruned(f.w.W, f.mask, ts)
	for _, t := range ts {
		i := f.index[t.Name]
		f.finished[i] = true
		f.rep.Tensors[i].NonZeroAfter = f.w.NonZero(t)
	}
	return f.done(f.w, ts)
}

// end finishes the targets not handed over yet, applies the mask to the
// other tensors of the model (what Model.ApplyMask does beyond the
// targets) and totals the report.
func (f *finisher) end() error {
	var rest []model.TensorInfo
	for i, t := range f.targets {
		if !f.finished[i] {
			rest = append(rest, t)
		}
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
	zeroPruned(f.w.W, f.mask, others) // writes only where the mask is 0
	f.rep.total()
	return nil
}
