package stages

import (
	"fmt"

	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// CalibConfig is the calib block of score and prune: the windows that
// calibrated criteria (Wanda, SparseGPT, Taylor, OWL, activation-based
// structure scores, Block Influence) compute their statistics on.
//
//	calib:
//	  file: calib.txt        # text, tokenized with the model's tokenizer (required)
//	  seq_len: 2048          # [the model's positions, at most 2048] tokens per window
//	  samples: 128           # [128] windows; by default at most 128: a text too short for 128
//	                         # consecutive windows gives as many as it holds (at least one)
//	  sampling: consecutive  # [consecutive]: window k = tokens[k·seq_len:]; random: seeded random starts
//	  seed: 0                # for random sampling
//	  batch: 8               # [8] windows per forward pass (memory, not results)
type CalibConfig struct {
	File     string `yaml:"file"`
	SeqLen   int    `yaml:"seq_len"`
	Samples  int    `yaml:"samples"`
	Sampling string `yaml:"sampling"`
	Seed     uint64 `yaml:"seed"`
	Batch    int    `yaml:"batch"`
}

// check reports the block's problems under field (e.g. "calib").
func (cc *CalibConfig) check(c *pipeline.Checker, field string) {
	if cc == nil {
		return
	}
	if cc.File == "" {
		c.Errorf(field+".file", "required: the calibration text file")
	}
	checkFile(c, field+".file", cc.File)
	checkPositive(c, field+".seq_len", cc.SeqLen)
	checkPositive(c, field+".samples", cc.Samples)
	checkPositive(c, field+".batch", cc.Batch)
	switch cc.Sampling {
	case "", "random", "consecutive":
	default:
		c.Errorf(field+".sampling", "%q is not a sampling; want random or consecutive", cc.Sampling)
	}
}

// windows tokenizes the calibration text with m's tokenizer and cuts the
// windows; nil config gives nil (no calibration).
func (cc *CalibConfig) windows(sc *pipeline.StageContext, m *model.Model) (*pruning.Calibration, error) {
	if cc == nil {
		return nil, nil
	}
	path := sc.Resolve(cc.File)
	tokens, err := tokenizeFile(m, path)
	if err != nil {
		return nil, fmt.Errorf("calib: %w", err)
	}
	o := pruning.WindowOptions{
		Samples: cc.Samples, SeqLen: cc.SeqLen, Random: cc.Sampling == "random", Seed: cc.Seed,
	}.WithDefaults(m.Config.MaxPos)
	cal, err := pruning.Windows(tokens, o)
	if err != nil {
		return nil, fmt.Errorf("calib %s: %w", path, err)
	}
	if n := cal.Samples(); n < o.Samples {
		sc.Log.Info("the calibration text holds fewer windows than the default; using them all",
			"file", path, "windows", n, "seq_len", o.SeqLen, "default", o.Samples)
	}
	cal.Batch = cc.Batch
	return cal, nil
}

// TargetsConfig are the target and ignore lists of score and prune: Go
// regular expressions over Hugging Face tensor names. No targets means
// every linear weight inside the transformer blocks.
type TargetsConfig struct {
	Targets []string `yaml:"targets"`
	Ignore  []string `yaml:"ignore"`
}

func (t TargetsConfig) spec() pruning.TargetSpec {
	return pruning.TargetSpec{Include: t.Targets, Ignore: t.Ignore}
}

func (t TargetsConfig) check(c *pipeline.Checker) {
	for i, p := range t.Targets {
		checkRegexp(c, fmt.Sprintf("targets.%d", i), p)
	}
	for i, p := range t.Ignore {
		checkRegexp(c, fmt.Sprintf("ignore.%d", i), p)
	}
}
