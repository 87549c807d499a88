package stages

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// Pruning a lazy model (see lazy.go). When its targets stream
// (pruning.Lazy) and the model has no mask, the stage prunes a lazy model
// in place (pruning.PruneInPlace): its own input when it owns it, else a
// lazy copy of the load stage's checkpoint, so that the readers of the
// input still see it unpruned. Each target is written, in float32 (exact,
// as the stage cache stores models), to a scratch directory as pruning
// hands it over (Options.Done, model.Writer), the other tensors after it;
// the directory is then opened lazily, the storage dtypes and the mask
// restored (the mask of the targets is their zeros, as Prune's is), and
// removed at once: the open model keeps its mapped files, which the
// system frees when the process ends. The scratch directory is a locked
// temporary directory (fsx.TempDir) in the run directory, which a killed
// run leaves for the runner to remove when the run is resumed
// (fsx.RemoveStaleTree). Otherwise the stage prunes a resident
// copy (pruning.Prune clones a lazy model).

// lazyPrunable reports whether a prune of m with o can work on a lazy
// model in place.
func lazyPrunable(m *model.Model, o pruning.Options) bool {
	return m.Lazy() && m.Mask == nil && pruning.Lazy(&m.Config, o)
}

// pruneLazy prunes the lazy model of in with o (lazyPrunable) into a new
// lazy model, as described above; owned says the stage owns in.
func pruneLazy(ctx context.Context, sc *pipeline.StageContext, in *ModelArtifact, owned bool, o pruning.Options) (*model.Model, *pruning.Report, error) {
	src := in.Model
	if !owned {
		if in.dir == "" {
			sc.Log.Debug("pruning a resident copy of the lazy input: other stages read it and it has no checkpoint of its own")
			return pruning.Prune(ctx, src, o)
		}
		var err error
		if src, err = openCopy(ctx, in); err != nil {
			return nil, nil, err
		}
	}
	defer func() {
		// Pruned in place, src now reads as its checkpoint again (W of a
		// lazy model is a cache of it); no stage reads it any more.
		if err := src.Close(); err != nil {
			sc.Log.Warn("could not close the pruned input", "error", err)
		}
	}()
	scratch, err := fsx.NewTempDir(filepath.Join(scratchParent(sc), "pruned-"+scratchName(sc.Path)))
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err := scratch.Discard(); err != nil {
			sc.Log.Warn("could not remove the pruned model's scratch directory", "dir", scratch.Path, "error", err)
		}
	}()
	dir := filepath.Join(scratch.Path, modelSubdir)
	sc.Log.Debug("pruning the lazy model in place, streaming the result", "scratch", scratch.Path, "streaming", pruning.Streaming(src, o))
	w, err := src.NewWriter(dir, model.SaveOptions{DType: model.F32})
	if err != nil {
		return nil, nil, err
	}
	o.Done = func(_ *model.Model, ts []model.TensorInfo) error { return w.Write(ts...) }
	_, rep, err := pruning.PruneInPlace(ctx, src, o)
	if err == nil {
		err = finishWriter(w)
	}
	if err != nil {
		return nil, nil, errors.Join(err, w.Abort())
	}
	out, err := model.Open(ctx, dir, model.LoadOptions{})
	if err != nil {
		return nil, nil, err
	}
	if err := restoreLazy(ctx, out, src, rep); err != nil {
		return nil, nil, errors.Join(err, out.Close())
	}
	return out, rep, nil
}

// finishWriter writes the tensors pruning did not hand over, one at a
// time, and commits.
func finishWriter(w *model.Writer) error {
	for _, t := range w.Pending() {
		if err := w.Write(t); err != nil {
			return err
		}
	}
	return w.Commit()
}

// restoreLazy gives out, the pruned model src was saved as in float32, what
// the save does not keep: src's storage dtypes, source and metadata, and
// the mask Prune makes: the zeros of the pruned targets (rep's tensors).
func restoreLazy(ctx context.Context, out, src *model.Model, rep *pruning.Report) error {
	if err := likeSource(out, src); err != nil {
		return err
	}
	mask := out.Layout.NewMask()
	for _, tr := range rep.Tensors {
		t, ok := out.Layout.Lookup(tr.Name)
		if !ok {
			continue
		}
		if err := out.Pin(ctx, t); err != nil {
			return err
		}
		mask.ClearZeros(t.Of(out.W), t.Offset)
		out.Unpin(t)
	}
	out.Mask = mask
	return nil
}

// openCopy opens the checkpoint of in's lazy model again (in.dir): a lazy
// model of its own with the same storage dtypes, source and metadata.
func openCopy(ctx context.Context, in *ModelArtifact) (*model.Model, error) {
	m, err := model.Open(ctx, in.dir, model.LoadOptions{})
	if err != nil {
		return nil, err
	}
	if err := likeSource(m, in.Model); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return m, nil
}

// likeSource gives m, opened from a save of src or from src's checkpoint,
// src's storage dtypes, source and metadata.
func likeSource(m, src *model.Model) error {
	dts := make(map[string]model.DType, len(src.Layout.Tensors))
	for _, t := range src.Layout.Tensors {
		dts[t.Name] = t.DType
	}
	var err error
	if m.Layout, err = m.Layout.WithDTypes(dts); err != nil {
		return err
	}
	m.Source, m.Meta = src.Source, src.Meta
	return nil
}

// scratchParent is where a stage makes scratch directories: the run
// directory, or the system's temporary directory when it has none.
func scratchParent(sc *pipeline.StageContext) string {
	if sc.RunDir != "" {
		if fi, err := os.Stat(sc.RunDir); err == nil && fi.IsDir() {
			return sc.RunDir
		}
	}
	return os.TempDir()
}

// scratchName is a stage's instance path as a file name.
func scratchName(path string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, path)
}
