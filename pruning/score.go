package pruning

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"lopper/model"
)

// Scores are importance scores of the targets' weights (higher is more
// important), flat over the model's layout: Values has one entry per
// parameter and only the targets' entries are meaningful. A Scores is
// computed once (Score) and can drive several prune calls (PruneScored),
// e.g. a sparsity sweep.
type Scores struct {
	Method  Method
	Targets []model.TensorInfo
	Values  []float32
	// Calibration used, if any.
	CalibSamples, CalibSeqLen int
	layout                    *model.Layout
}

// ScoreOptions say how to score.
type ScoreOptions struct {
	Method  Method
	Targets TargetSpec
	// Calib is needed by Wanda (statistics from the dense model in one
	// pass) and Taylor.
	Calib *Calibration
	Seed  uint64 // Random's seed
	// Progress, if set, is told how far scoring has come (see
	// ProgressFunc); it does not change the scores.
	Progress ProgressFunc
}

// Score computes the scores of method over the selected targets of m,
// which it does not modify. SparseGPT has no separate score step (its
// choices depend on the weights it updates), and block-by-block Wanda
// depends on what earlier blocks pruned: both run inside Prune.
func Score(ctx context.Context, m *model.Model, o ScoreOptions) (*Scores, error) {
	if o.Method == SparseGPT {
		return nil, fmt.Errorf("sparsegpt has no separate score step: its choices depend on the weights it updates; use Prune")
	}
	targets, err := SelectTargets(m.Layout, o.Targets)
	if err != nil {
		return nil, err
	}
	sc := &Scores{Method: o.Method, Targets: targets, Values: make([]float32, m.Layout.Total), layout: m.Layout}
	if err := scoreTargets(ctx, m, o.Method, targets, o.Calib, o.Seed, sc.Values, o.Progress); err != nil {
		return nil, err
	}
	if o.Method == Wanda || o.Method == Taylor {
		sc.CalibSamples, sc.CalibSeqLen = o.Calib.Samples(), o.Calib.SeqLen
	}
	return sc, nil
}

// NewScores wraps scores computed earlier (by Score, then stored) for
// PruneScored: values is flat over layout and targets names the scored
// tensors, which must be in layout. NaN scores are refused.
func NewScores(layout *model.Layout, method Method, targets []string, values []float32) (*Scores, error) {
	switch method {
	case Magnitude, Random, Wanda, Taylor:
	default:
		return nil, fmt.Errorf("%q is not a method with reusable scores (want magnitude, random, wanda or taylor)", method)
	}
	if layout == nil || len(values) != layout.Total {
		return nil, fmt.Errorf("%d scores for a layout of %d parameters", len(values), layoutTotal(layout))
	}
	if len(targets) == 0 {
		return nil, errors.New("no scored targets")
	}
	sc := &Scores{Method: method, Values: values, layout: layout}
	seen := map[string]bool{}
	for _, name := range targets {
		t, ok := layout.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("scored tensor %q is not in the model's layout", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("scored tensor %q is listed twice", name)
		}
		seen[name] = true
		sc.Targets = append(sc.Targets, t)
	}
	slices.SortFunc(sc.Targets, func(a, b model.TensorInfo) int { return a.Offset - b.Offset })
	return sc, checkScores(sc.Targets, values)
}

func layoutTotal(l *model.Layout) int {
	if l == nil {
		return 0
	}
	return l.Total
}

// scoreTargets writes method's scores of targets into dst (flat over m's
// layout). Wanda's statistics come from m in one pass. Progress: the
// calibration windows (wanda, taylor), then the tensors scored.
func scoreTargets(ctx context.Context, m *model.Model, method Method, targets []model.TensorInfo, cal *Calibration, seed uint64, dst []float32, progress ProgressFunc) error {
	switch method {
	case Magnitude:
		magnitudeScores(m.W, targets, dst, progress.start(len(targets), UnitTensorsScored))
	case Random:
		randomScores(targets, dst, seed, progress.start(len(targets), UnitTensorsScored))
	case Wanda:
		if err := cal.validate(m.Config.Vocab, m.Config.MaxPos); err != nil {
			return fmt.Errorf("wanda: %w", err)
		}
		stats, err := calibrateOnePass(ctx, m, cal, statNorms, targets, progress)
		if err != nil {
			return err
		}
		if err := wandaScores(m.W, targets, stats, dst, progress.start(len(targets), UnitTensorsScored)); err != nil {
			return err
		}
	case Taylor:
		if err := cal.validate(m.Config.Vocab, m.Config.MaxPos); err != nil {
			return fmt.Errorf("taylor: %w", err)
		}
		if err := taylorScores(ctx, m, targets, cal, dst, progress); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown scoring method %q (want magnitude, random, wanda or taylor)", method)
	}
	return checkScores(targets, dst)
}

// checkScores refuses NaN scores (from NaN weights or activations), naming
// the tensor and the entry.
func checkScores(targets []model.TensorInfo, scores []float32) error {
	for _, t := range targets {
		for i, v := range t.Of(scores) {
			if math.IsNaN(float64(v)) {
				return fmt.Errorf("tensor %q: score of entry %d is NaN (the weight or its calibration input is not finite)", t.Name, i)
			}
		}
	}
	return nil
}
