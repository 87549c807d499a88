package cli

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"

	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pruning"
)

// How lopper prune saves its result. Unstructured and N:M pruning change
// the weights of the model in place and nothing else, so the output
// directory is started before pruning (model.Writer: the header, config
// and tokenizer are known) and each target is written as soon as pruning
// hands it over (pruning.Options.Done): tensor by tensor, block by block,
// or all at the end, as pruning.Streaming says; the other tensors follow
// after pruning, then lopper.json with the report, and the directory is
// committed. Structured patterns build a new model, saved at the end. The
// bytes are the same either way.
//
// When the result streams tensor by tensor or block by block (and no
// encoder runs: pruning.Lazy), the model is opened lazily (model.Open)
// instead of loaded: pruning pins the
// targets it works on (decoding each once from the mapped checkpoint) and
// unpins them once the Writer has them, and the Writer decodes the other
// tensors one at a time as it writes them, so that only the weights in
// flight are resident. Otherwise (at the end, structured, --dry-run) the
// model is loaded.

// Log values of lopper prune's weights mode.
const (
	weightsLazy     = "lazy (only the tensors in flight resident)"
	weightsResident = "resident"
)

// lazy says whether lopper prune opens the model lazily, with the mode
// it logs. It reads config.json; a config that cannot be read is loaded
// resident (the load then reports it).
func (f *pruneFlags) lazy(o pruning.Options) (bool, string) {
	if f.dryRun {
		return false, weightsResident
	}
	c, err := model.LoadConfig(f.model)
	if err != nil {
		return false, weightsResident
	}
	if pruning.Lazy(&c, o) {
		return true, weightsLazy
	}
	return false, weightsResident
}

// load opens the model lazily or loads it, checking its weights are
// finite: a lazy model's tensors are checked as they are first decoded
// (model.LoadOptions.FiniteOnPin), so that each is decoded once for the
// check and the work together; a NaN then stops pruning or the save, and
// is reported as the load would report it (loadError).
func (f *pruneFlags) load(ctx context.Context, lazy bool) (*model.Model, error) {
	opts := model.LoadOptions{CheckFinite: true}
	if lazy {
		opts.FiniteOnPin = true
		return model.Open(ctx, f.model, opts)
	}
	return model.LoadContext(ctx, f.model, opts)
}

// loadError is err, or the *model.NonFiniteError it wraps: a NaN or ±Inf
// that a lazily opened model's check finds as pruning or the save first
// decodes its tensor is reported with the message loading gives it.
func loadError(err error) error {
	if nf, ok := errors.AsType[*model.NonFiniteError](err); ok {
		return nf
	}
	return err
}

// closePruned closes a model lopper prune opened lazily (a no-op for a
// loaded one), after the save's abort; a failure is logged: the result is
// saved or given up by then.
func closePruned(a *app, m *model.Model) {
	if err := m.Close(); err != nil {
		a.log.Warn("could not close the model", "error", err)
	}
}

// pruneSaver writes lopper prune's result.
type pruneSaver struct {
	f     *pruneFlags
	guard fsx.Guard
	// w streams the result; nil saves it at the end with Model.Save.
	w *model.Writer
}

// startSave starts the output directory for pruning m with o, and sets
// o.Done to write what pruning finishes, when the result can be streamed.
// It logs (debug) how the result will be saved.
func (f *pruneFlags) startSave(a *app, m *model.Model, o *pruning.Options, guard fsx.Guard) (*pruneSaver, error) {
	s := &pruneSaver{f: f, guard: guard}
	mode := pruning.Streaming(m, *o)
	if mode == "" {
		a.log.Debug("saving the pruned model at the end", "out", f.out, "why", "a structured pattern builds a new model")
		return s, nil
	}
	a.log.Debug("saving the pruned model as pruning finishes its tensors", "out", f.out, "streaming", mode)
	// Pruning in place leaves the config as it is: the save's rule can be
	// checked now.
	if err := f.checkUniform(a, m); err != nil {
		return nil, err
	}
	w, err := m.NewWriter(f.out, model.SaveOptions{Guard: guard})
	if err != nil {
		return nil, err
	}
	s.w = w
	// Of a lazy model, pruning unpins ts when Done returns: Write has
	// encoded them, or pinned the parts of a fused tensor it waits on.
	o.Done = func(_ *model.Model, ts []model.TensorInfo) error { return w.Write(ts...) }
	return s, nil
}

// finish saves out, the pruned model, with meta as lopper.json's metadata:
// the tensors pruning did not hand over are written and the directory
// committed, or out is saved whole.
func (s *pruneSaver) finish(a *app, out *model.Model, meta json.RawMessage) error {
	if s.w == nil {
		if err := s.f.checkUniform(a, out); err != nil {
			return err
		}
		return out.Save(s.f.out, model.SaveOptions{Metadata: meta, Guard: s.guard})
	}
	if out.Lazy() {
		// Pruning's working set (the calibration's states, scores) is
		// garbage now: give it back to the system before the remaining
		// tensors, the embedding among them, are decoded, so that the two
		// do not add up at the peak.
		debug.FreeOSMemory()
	}
	for _, t := range s.w.Pending() {
		// One at a time: of a lazy model, Write decodes t, writes it and
		// lets it go.
		if err := s.w.Write(t); err != nil {
			return err
		}
	}
	if err := s.w.SetMetadata(meta); err != nil {
		return err
	}
	return s.w.Commit()
}

// abort removes a streamed save that was not committed; it does nothing
// after finish or for a save at the end. A failure to remove is logged:
// the next save to the same place clears what is left (fsx.RemoveStale).
func (s *pruneSaver) abort(a *app) {
	if s == nil || s.w == nil {
		return
	}
	if err := s.w.Abort(); err != nil {
		a.log.Warn("could not remove the unfinished output", "out", s.f.out, "error", err)
	}
}
