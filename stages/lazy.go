package stages

import (
	"context"
	"fmt"
	"hash"
	"slices"

	"lopper/model"
	"lopper/pipeline"
)

// Lazy models in a run. A run whose resident models would not fit its
// memory budget (lopper run --max-memory) runs under WithLazyModels: the
// load stage opens its model lazily (model.Open: the weights stay in the
// mapped checkpoint and are decoded while pinned) and the model codec
// decodes a cached model the same way. Every stage reads a lazy model
// correctly, and produces the same metrics, digests and files as with a
// resident one:
//   - evaluate (text, multiple choice, size, speed) and save stream: the
//     forward passes, eval.Size and the Writer pin what they read;
//   - unstructured and N:M prune that streams its targets (pruning.Lazy)
//     prunes in place and streams the result to a scratch directory, which
//     it opens lazily (prune_lazy.go);
//   - the stages that need every weight at once (retrain and its teacher,
//     score, verify, structured prune, the other unstructured modes, an
//     encoder classifier's evaluation) work on a resident copy (Clone).
// The digest of a lazy model pins its tensors one at a time.

// lazyKey keys the run's lazy mode in a context.
type lazyKey struct{}

// WithLazyModels returns a context under which the load stage opens its
// model lazily (model.Open) and the model codec decodes cached models
// lazily: a run in lazy mode runs its stages under it.
func WithLazyModels(ctx context.Context) context.Context {
	return context.WithValue(ctx, lazyKey{}, true)
}

// lazyModels reports whether ctx is a lazy run's (WithLazyModels).
func lazyModels(ctx context.Context) bool {
	lazy, _ := ctx.Value(lazyKey{}).(bool)
	return lazy
}

// residentModel returns m when it is resident, else a resident copy of
// the lazy m (Clone), for a stage that reads all of its weights at once.
func residentModel(m *model.Model) *model.Model {
	if m.Lazy() {
		return m.Clone()
	}
	return m
}

// writeLazyFloats is writeFloats of a lazy model's W, pinning one tensor
// at a time in the order of their offsets (what lies between tensors is
// hashed as W holds it).
func writeLazyFloats(h hash.Hash, m *model.Model) error {
	fmt.Fprintf(h, "weights %d\n", len(m.W))
	ts := slices.Clone(m.Layout.Tensors)
	slices.SortStableFunc(ts, func(a, b model.TensorInfo) int { return a.Offset - b.Offset })
	at := 0
	buf := make([]byte, 0, 1<<16)
	for _, t := range ts {
		if t.Offset < at {
			return fmt.Errorf("tensor %q overlaps the tensor before it", t.Name)
		}
		buf = appendFloats(h, buf, m.W[at:t.Offset])
		if err := m.Pin(context.Background(), t); err != nil {
			return err
		}
		buf = appendFloats(h, buf, t.Of(m.W))
		m.Unpin(t)
		at = t.Offset + t.Size
	}
	buf = appendFloats(h, buf, m.W[at:])
	h.Write(buf)
	return nil
}

// Log values of a model's weights mode.
const (
	weightsLazy     = "lazy (decoded from the checkpoint while pinned)"
	weightsResident = "resident"
)

// weightsMode names how m holds its weights, for the log.
func weightsMode(m *model.Model) string {
	if m.Lazy() {
		return weightsLazy
	}
	return weightsResident
}

// loadModel opens the model in dir lazily in a lazy run (an encoder
// classifier, whose forward passes need a resident model, excepted) and
// loads it otherwise, and says whether it opened it lazily.
func loadModel(ctx context.Context, sc *pipeline.StageContext, dir string, opts model.LoadOptions) (*model.Model, bool, error) {
	lazy, why := openLazily(ctx, dir)
	if why != "" {
		sc.Log.Info("loading the model resident in a lazy run: "+why, "dir", dir)
	}
	m, err := openModel(ctx, dir, opts, lazy)
	return m, lazy && err == nil, err
}

// openModel opens the model in dir lazily (model.Open) when lazy, else
// loads it: what loadModel and the model codec do once openLazily has
// decided.
func openModel(ctx context.Context, dir string, opts model.LoadOptions, lazy bool) (*model.Model, error) {
	if lazy {
		return model.Open(ctx, dir, opts)
	}
	return model.LoadContext(ctx, dir, opts)
}

// openLazily says whether the model in dir is opened lazily: in a lazy
// run, unless it is an encoder classifier (why says so) or its
// config.json cannot be read (which loading it reports).
func openLazily(ctx context.Context, dir string) (lazy bool, why string) {
	if !lazyModels(ctx) {
		return false, ""
	}
	c, err := model.LoadConfig(dir)
	switch {
	case err != nil:
		return false, ""
	case c.Arch == model.BERT:
		return false, "encoder classifiers run resident only"
	}
	return true, ""
}

// sparsity is m.Sparsity(model.Prunable), pinning the tensors of a lazy
// model one at a time.
func sparsity(m *model.Model) (float64, error) {
	if !m.Lazy() {
		sp, _ := m.Sparsity(model.Prunable)
		return sp, nil
	}
	zeros, n := 0, 0
	for _, t := range m.Layout.Tensors {
		if !model.Prunable(t) {
			continue
		}
		if err := m.Pin(context.Background(), t); err != nil {
			return 0, err
		}
		zeros += t.Size - m.NonZero(t)
		n += t.Size
		m.Unpin(t)
	}
	if n == 0 {
		return 0, nil
	}
	return float64(zeros) / float64(n), nil
}
