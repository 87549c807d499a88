package pruning

import (
	"context"
	"errors"
	"fmt"

	"lopper/internal/par"
	"lopper/model"
)

// Prune prunes m as o says and returns a new model, with a mask (Mask) and
// pruned weights set to zero, and a report of what was removed. m itself is
// never modified, so other goroutines may read it meanwhile. Structured
// patterns (neurons, heads, layers) go to pruneStructured
// (structured_dispatch.go), which validates their methods and scopes and
// returns a physically smaller model.
func Prune(ctx context.Context, m *model.Model, o Options) (*model.Model, *Report, error) {
	return pruneModel(ctx, m, o, false)
}

// PruneInPlace is Prune for a caller that no longer needs m: unstructured
// and N:M pruning work on m itself instead of a copy of its weights (one
// float32 per parameter less at the peak) and return m, pruned, with the
// same weights, mask and report that Prune returns. Structured patterns
// build a smaller model as Prune does and leave m unchanged. On an error
// m's weights and mask may be partly pruned: discard it.
func PruneInPlace(ctx context.Context, m *model.Model, o Options) (*model.Model, *Report, error) {
	return pruneModel(ctx, m, o, true)
}

func pruneModel(ctx context.Context, m *model.Model, o Options, inPlace bool) (*model.Model, *Report, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, nil, err
	}
	lazy := inPlace && m.Lazy()
	if err := checkLazy(m, o, lazy); err != nil {
		return nil, nil, err
	}
	if o.Pattern.structured() {
		out, sr, err := pruneStructured(ctx, m, o)
		if err != nil {
			return nil, nil, err
		}
		return out, structuredReport(m, o, sr), nil
	}
	targets, err := o.targets(m, true)
	if err != nil {
		return nil, nil, err
	}
	out := m
	if !inPlace {
		out = m.Clone() // resident, even of a lazy m
	}
	// A resident model's targets are counted and masked here, all at
	// once; a lazy model's as the drivers pin them (finisher.begin).
	rep := newReport(out, o, targets, !lazy)
	var mask *model.Mask
	if !lazy {
		mask = workingMask(out, targets)
		zeroMasked(out.W, mask, targets)
	}
	fin := newFinisher(out, mask, rep, targets, o.Done)
	switch {
	case o.Method == SparseGPT:
		rep.LayerSparsity, err = pruneSparseGPT(ctx, out, targets, o, fin)
	case o.Method == Wanda && o.CalibMode == Sequential:
		rep.LayerSparsity, err = pruneWandaSequential(ctx, out, targets, o, fin)
	case byTensor(o):
		err = pruneByTensor(ctx, out, targets, o, fin)
	default:
		scores := make([]float32, out.Layout.Total)
		if err = scoreTargets(ctx, out, o.Method, targets, o.Calib, o.Seed, scores, o.Progress); err == nil {
			p := o.Progress.start(len(targets), UnitTensorsPruned)
			rep.LayerSparsity = selectOver(o, out, targets, scores, mask, p)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	out.Mask = mask // nil when lazy: it was held span by span
	if err := fin.end(); err != nil {
		return nil, nil, err
	}
	return out, rep, nil
}

// checkLazy refuses what Prune cannot do with a lazy model m (Open): the
// structured patterns, which read all of m; and, in place (lazy set), a
// prune that does not stream its targets to o.Done (see Lazy), or a model
// with a mask.
func checkLazy(m *model.Model, o Options, lazy bool) error {
	if !m.Lazy() {
		return nil
	}
	if o.Pattern.structured() {
		return fmt.Errorf("pattern %s needs the model's weights resident: load it (model.Load), not open it", o.Pattern)
	}
	if !lazy {
		return nil
	}
	if o.Done == nil || !Lazy(&m.Config, o) {
		return errors.New("a lazy model (model.Open) is pruned in place only when its targets stream to Options.Done, tensor by tensor or block by block, and no encoder runs: load it (model.Load), or use Prune")
	}
	if m.Mask != nil {
		return errors.New("a lazy model with a mask cannot be pruned in place: load it (model.Load)")
	}
	return nil
}

// PruneScored prunes m with precomputed scores (from Score on m or on a
// model with the same layout), so that several prune calls can share one
// scoring pass. o.Method must be empty or the scores' method, and o.Targets
// empty: the targets are the scored ones. m is not modified.
func PruneScored(ctx context.Context, m *model.Model, sc *Scores, o Options) (*model.Model, *Report, error) {
	if sc == nil {
		return nil, nil, errors.New("no scores given")
	}
	if o.Method == "" {
		o.Method = sc.Method
	}
	if o.Method != sc.Method {
		return nil, nil, fmt.Errorf("options ask for method %s but the scores are %s scores", o.Method, sc.Method)
	}
	if len(o.Targets.Include) > 0 || len(o.Targets.Ignore) > 0 {
		return nil, nil, errors.New("the targets were fixed when scoring; leave Options.Targets empty")
	}
	o, err := o.normalize()
	if err != nil {
		return nil, nil, err
	}
	if o.Pattern.structured() {
		return nil, nil, fmt.Errorf("pattern %s does not take precomputed weight scores; use Prune", o.Pattern)
	}
	if err := sameLayout(sc.layout, m.Layout); err != nil {
		return nil, nil, fmt.Errorf("scores do not fit this model: %w", err)
	}
	if o.Pattern.Kind == NM {
		if err := checkNM(sc.Targets, o.Pattern.N, o.Pattern.M); err != nil {
			return nil, nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	out := m.Clone() // resident, even of a lazy m
	rep := newReport(out, o, sc.Targets, true)
	rep.CalibSamples, rep.CalibSeqLen = sc.CalibSamples, sc.CalibSeqLen
	mask := workingMask(out, sc.Targets)
	p := o.Progress.start(len(sc.Targets), UnitTensorsPruned)
	rep.LayerSparsity = selectOver(o, out, sc.Targets, sc.Values, mask, p)
	out.Mask = mask
	out.ApplyMask()
	rep.finish(out, sc.Targets)
	if o.Done != nil {
		if err := o.Done(out, sc.Targets); err != nil {
			return nil, nil, err
		}
	}
	return out, rep, nil
}

// targets selects o's targets in m and checks that o can prune them, and
// when checkCalib is set, that o has the calibration data it needs.
func (o Options) targets(m *model.Model, checkCalib bool) ([]model.TensorInfo, error) {
	targets, err := SelectTargets(m.Layout, o.Targets)
	if err != nil {
		return nil, err
	}
	if o.Pattern.Kind == NM {
		if err := checkNM(targets, o.Pattern.N, o.Pattern.M); err != nil {
			return nil, err
		}
	}
	if o.needsCalib() && (checkCalib || o.Calib != nil) {
		if err := o.Calib.validate(m.Config.Vocab, m.Config.MaxPos); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Method, err)
		}
	}
	return targets, nil
}

// selectMask prunes mask over targets by scores as o's pattern and scope
// say. layerS, when set, gives OWL's per-block sparsities; when nil and
// the scope is OWL they are computed from scores. It returns the per-block
// sparsities used (nil unless OWL), and reports the tensors done to p.
func selectMask(o Options, m *model.Model, targets []model.TensorInfo, scores []float32, mask []byte, layerS []float64, p *phase) []float64 {
	if o.Pattern.Kind == NM {
		pruneNM(targets, scores, mask, o.Pattern.N, o.Pattern.M, p)
		return nil
	}
	if o.Scope == ScopeOWL && layerS == nil {
		byBlock, _ := blockTargets(targets, m.Config.NumLayers())
		layerS = owlSparsities(byBlock, scores, o.Sparsity, o.OWL)
	}
	gs, owners := unstructuredGroups(o.Scope, targets, scores, mask, o.Sparsity, layerS)
	pruneGroups(gs, newTally(p, owners, len(targets)))
	return layerS
}

// zeroMasked sets the targets' weights (w over the layout) to zero where
// mask prunes them.
func zeroMasked(w []float32, mask *model.Mask, targets []model.TensorInfo) {
	par.For(len(targets), func(i int) {
		t := targets[i]
		mask.ApplyTo(t.Of(w), t.Offset)
	})
}

// zeroPruned sets the targets' weights to zero where mask is 0 (w and
// mask over one span, the targets' offsets in it).
func zeroPruned(w []float32, mask []byte, targets []model.TensorInfo) {
	par.For(len(targets), func(i int) {
		t := targets[i]
		k := mask[t.Offset : t.Offset+t.Size]
		for j := range t.Of(w) {
			if k[j] == 0 {
				w[t.Offset+j] = 0
			}
		}
	})
}

// sameLayout reports whether two layouts place the same tensors at the
// same offsets.
func sameLayout(a, b *model.Layout) error {
	if a == b {
		return nil
	}
	if a == nil || b == nil || a.Total != b.Total || len(a.Tensors) != len(b.Tensors) {
		return errors.New("the layouts differ in size")
	}
	for i, t := range a.Tensors {
		u := b.Tensors[i]
		if t.Name != u.Name || t.Offset != u.Offset || t.Size != u.Size {
			return fmt.Errorf("tensor %d is %s at %d here and %s at %d there", i, u.Name, u.Offset, t.Name, t.Offset)
		}
	}
	return nil
}
