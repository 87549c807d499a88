package cli

import (
	"os"
	"runtime"

	"lopper/eval"
	"lopper/internal/memgc"
	"lopper/model"
	"lopper/pruning"
)

// logMemory logs (debug) a command's memory estimate before it loads the model
// in dir (and warns when it exceeds the machine's memory), after setting
// the garbage collector for the model's size (memgc). estimate gives the
// live parts from the model's config; kv are more key/value pairs for the
// log line (the mode the command chose). Without an estimate (a config.json
// that cannot be read, which the load then reports) it says why at debug
// level.
func (a *app) logMemory(dir string, estimate func(c *model.Config) (model.MemoryEstimate, error), kv ...any) {
	c, err := model.LoadConfig(dir)
	var est model.MemoryEstimate
	if err == nil {
		est, err = withRuntime(&c, estimate)
	}
	if err != nil {
		a.log.Debug("no memory estimate", "error", err)
		return
	}
	a.log.Debug("memory estimate", append([]any{"bytes", est.Total(), "estimate", est.String()}, kv...)...)
	if have := model.MemoryBudget(); est.Total() > have {
		a.log.Warn("the estimate exceeds this machine's memory: the command may fail or be killed",
			"estimate", model.FormatBytes(est.Total()), "memory", model.FormatBytes(have))
	}
}

// withRuntime returns estimate(c) with the program's own memory and the
// garbage collector's headroom, after setting the collector for c's
// weights (memgc).
func withRuntime(c *model.Config, estimate func(c *model.Config) (model.MemoryEstimate, error)) (model.MemoryEstimate, error) {
	est, err := estimate(c)
	if err != nil {
		return est, err
	}
	weights, err := model.WeightBytes(c)
	if err != nil {
		return est, err
	}
	return est.WithRuntime(memgc.Tune(weights)), nil
}

// pruneMemory estimates lopper prune's memory: the model pruned in place,
// with the calibration windows the flags ask for (their defaults as
// maxima).
func (f *pruneFlags) pruneMemory(o pruning.Options, lazy bool) func(c *model.Config) (model.MemoryEstimate, error) {
	return func(c *model.Config) (model.MemoryEstimate, error) { return f.estimatePrune(c, o, lazy) }
}

func (f *pruneFlags) estimatePrune(c *model.Config, o pruning.Options, lazy bool) (model.MemoryEstimate, error) {
	mo := pruning.MemoryOptions{Options: o, InPlace: true, Lazy: lazy}
	if f.calib != "" {
		w := pruning.WindowOptions{SeqLen: f.calibSeqLen}
		if f.samplesSet {
			w.Samples = f.calibSamples
		}
		w = w.WithDefaults(c.MaxPos)
		mo.CalibSamples, mo.CalibSeqLen = w.Samples, w.SeqLen
	}
	return pruning.EstimateMemory(c, mo)
}

// evalMemory estimates lopper eval's memory with the weights resident
// (streamed false) or streamed from a lazy model: the weights, and the
// forward passes of --text or --speed (multiple-choice passes depend on
// the longest task, known once the file is read).
func (f *evalFlags) evalMemory(streamed bool) func(c *model.Config) (model.MemoryEstimate, error) {
	return func(c *model.Config) (model.MemoryEstimate, error) {
		o := eval.TextOptions{SeqLen: f.seqLen, Stride: f.stride, Limit: f.limit, Batch: f.batch}
		if f.text != "" {
			var size int64
			if fi, err := os.Stat(f.text); err == nil {
				size = fi.Size()
			}
			if streamed {
				return eval.EstimateStreamedTextMemory(c, o, size)
			}
			return eval.EstimateTextMemory(c, o, size)
		}
		var e model.MemoryEstimate
		passes := 1
		if f.hellaswag != "" || f.choices != "" {
			passes = runtime.GOMAXPROCS(0)
		}
		if err := eval.AddWeights(&e, c, streamed, passes); err != nil {
			return e, err
		}
		if f.speed {
			T := f.seqLen
			if T == 0 {
				T = c.MaxPos
			}
			e.Add("forward pass", model.ForwardBytes(c, max(f.batch, 1), T, true))
		}
		return e, nil
	}
}
