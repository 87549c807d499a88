package stages

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lopper/eval"
	"lopper/internal/memgc"
	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
	"lopper/train"
)

// The stages' memory estimates for `lopper plan` (pipeline.Decl.Memory):
// what each stage holds while it runs, its inputs' weights included, from
// the model's config.json (read by the load stage's estimate, handed on as
// the shape *model.Config) and the stage's config as known at load time.
// Artifacts that later stages read stay in memory meanwhile, and stages of
// one level may run together, so a run's peak can exceed its largest
// stage's.

// stageMemory completes a stage's live parts with the collector's headroom
// and the program, and names the model the stage produces.
func stageMemory(c *model.Config, e model.MemoryEstimate, out *model.Config) (*pipeline.StageMemory, error) {
	w, err := model.WeightBytes(c)
	if err != nil {
		return nil, err
	}
	e = e.WithRuntime(memgc.For(w))
	return &pipeline.StageMemory{Bytes: e.Total(), Total: model.FormatBytes(e.Total()), Detail: e.PartsString(), Shape: out}, nil
}

// inputConfig is the config of the model the stage ref names.
func inputConfig(q pipeline.MemoryQuery, ref pipeline.Ref) (*model.Config, error) {
	if c, ok := q.Input(ref).(*model.Config); ok && c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("the model of stage %s is not known before it runs", ref.ID)
}

// resolve is path relative to the recipe's directory.
func resolve(q pipeline.MemoryQuery, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(q.Dir, path)
}

func loadMemory(cfg *LoadConfig) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return func(q pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
		if cfg.Path == "" {
			return nil, errors.New("the model's path is known only at run time")
		}
		c, err := model.LoadConfig(resolve(q, cfg.Path))
		if err != nil {
			return nil, err
		}
		w, err := model.WeightBytes(&c)
		if err != nil {
			return nil, err
		}
		var e model.MemoryEstimate
		e.Add("weights", w)
		return stageMemory(&c, e, &c)
	}
}

// shape is the calibration set a calib block asks for, its defaults
// as maxima.
func (cc *CalibConfig) shape(c *model.Config) (samples, seqLen, batch int) {
	if cc == nil {
		return 0, 0, 0
	}
	w := pruning.WindowOptions{Samples: cc.Samples, SeqLen: cc.SeqLen}.WithDefaults(c.MaxPos)
	return w.Samples, w.SeqLen, cc.Batch
}

// fromInput makes the estimate of a stage that reads the model of ref:
// estimate gives its live parts and the model it produces (nil: none).
func fromInput(ref pipeline.Ref, estimate func(q pipeline.MemoryQuery, c *model.Config) (model.MemoryEstimate, *model.Config, error)) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return func(q pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
		c, err := inputConfig(q, ref)
		if err != nil {
			return nil, err
		}
		e, out, err := estimate(q, c)
		if err != nil {
			return nil, err
		}
		return stageMemory(c, e, out)
	}
}

func pruneMemory(cfg *PruneConfig) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return fromInput(cfg.Model, func(_ pipeline.MemoryQuery, c *model.Config) (model.MemoryEstimate, *model.Config, error) {
		pat, err := pruning.ParsePattern(cfg.Pattern)
		if err != nil {
			return model.MemoryEstimate{}, nil, err
		}
		target, err := cfg.targetSparsity(0)
		if err != nil {
			return model.MemoryEstimate{}, nil, err
		}
		mo := pruning.MemoryOptions{Options: cfg.options(pat, target, nil)}
		if !cfg.Scores.IsZero() { // the score stage's scores replace the scoring
			mo.Method, mo.Scope, mo.Targets = pruning.Magnitude, pruning.ScopeGlobal, pruning.TargetSpec{}
		}
		mo.CalibSamples, mo.CalibSeqLen, mo.CalibBatch = cfg.Calib.shape(c)
		e, err := pruning.EstimateMemory(c, mo)
		return e, c, err
	})
}

func scoreMemory(cfg *ScoreConfig) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return fromInput(cfg.Model, func(_ pipeline.MemoryQuery, c *model.Config) (model.MemoryEstimate, *model.Config, error) {
		mo := pruning.MemoryOptions{Options: pruning.Options{Method: pruning.Method(cfg.Criterion), Targets: cfg.spec()}, ScoreOnly: true}
		mo.CalibSamples, mo.CalibSeqLen, mo.CalibBatch = cfg.Calib.shape(c)
		e, err := pruning.EstimateMemory(c, mo)
		return e, nil, err
	})
}

func evaluateMemory(cfg *EvaluateConfig) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return fromInput(cfg.Model, func(q pipeline.MemoryQuery, c *model.Config) (model.MemoryEstimate, *model.Config, error) {
		var e model.MemoryEstimate
		if cfg.Text != "" {
			fi, err := os.Stat(resolve(q, cfg.Text))
			if err != nil {
				return e, nil, err
			}
			if e, err = eval.EstimateTextMemory(c, eval.TextOptions{SeqLen: cfg.SeqLen, Stride: cfg.Stride, Limit: cfg.Limit, Batch: cfg.Batch}, fi.Size()); err != nil {
				return e, nil, err
			}
		} else {
			w, err := model.WeightBytes(c)
			if err != nil {
				return e, nil, err
			}
			e.Add("weights", w)
		}
		if s := cfg.Speed; s != nil {
			T := s.SeqLen
			if T == 0 {
				T = c.MaxPos
			}
			e.Add("timed forward pass", model.ForwardBytes(c, max(s.Batch, 1), T, true))
		}
		return e, nil, nil
	})
}

func retrainMemory(cfg *RetrainConfig) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return fromInput(cfg.Model, func(q pipeline.MemoryQuery, c *model.Config) (model.MemoryEstimate, *model.Config, error) {
		var teacher *model.Config
		if !cfg.Teacher.IsZero() {
			var err error
			if teacher, err = inputConfig(q, cfg.Teacher); err != nil {
				return model.MemoryEstimate{}, nil, err
			}
		}
		B, T := cfg.BatchSize, cfg.SeqLen
		if B == 0 {
			B = 8
		}
		if T == 0 {
			T = min(defaultSeqLen, c.MaxPos)
		}
		e, err := train.EstimateMemory(c, train.MemoryOptions{B: B, T: T, Teacher: teacher, Trainable: cfg.Trainable, Recompute: cfg.Recompute, Mask: true})
		if err != nil {
			return e, nil, err
		}
		w, err := model.WeightBytes(c)
		e.Add("input model (trained as a copy)", w)
		return e, c, err
	})
}

func saveMemory(cfg *SaveConfig) func(pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
	return fromInput(cfg.Model, func(_ pipeline.MemoryQuery, c *model.Config) (model.MemoryEstimate, *model.Config, error) {
		var e model.MemoryEstimate
		w, err := model.WeightBytes(c)
		e.Add("weights (written tensor by tensor)", w)
		return e, c, err
	})
}
