package stages

import (
	"fmt"

	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"

	"github.com/hashicorp/go-hclog"
)

// CalibConfig is the calib block of score and prune: the windows that
// calibrated criteria (Wanda, SparseGPT, Taylor, OWL, activation-based
// structure scores, Block Influence) compute their statistics on.
//
//	calib:
//	  file: calib.txt        # text, tokenized with the model's tokenizer (required);
//	                         # an encoder classifier's: a labelled task, one window per example
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
	o := pruning.WindowOptions{Samples: cc.Samples, SeqLen: cc.SeqLen, Random: cc.Sampling == "random", Seed: cc.Seed}
	cal, err := CalibrationWindows(m, sc.Resolve(cc.File), o, sc.Log)
	if err != nil {
		return nil, fmt.Errorf("calib: %w", err)
	}
	cal.Batch = cc.Batch
	return cal, nil
}

// CalibrationWindows cuts calibration windows (o, with the defaults of
// WindowOptions.WithDefaults for m) from the text file at path, tokenized
// with m's tokenizer: for consecutive windows only the tokens they take
// are read and tokenized, random windows need the whole text. When a
// default number of windows does not fit, the text's windows are used and
// log says so. The calib blocks of score and prune and lopper prune's
// --calib all calibrate through it. An encoder classifier calibrates on
// the examples of a labelled file instead (classifierCalibration). Errors
// name the file.
func CalibrationWindows(m *model.Model, path string, o pruning.WindowOptions, log hclog.Logger) (*pruning.Calibration, error) {
	if isClassifier(m) {
		return classifierCalibration(m, path, o, log)
	}
	o = o.WithDefaults(m.Config.MaxPos)
	limit := 0 // random windows start anywhere in the text
	if !o.Random && o.Samples > 0 && o.SeqLen > 0 {
		limit = o.Samples * o.SeqLen
	}
	tokens, err := tokenizeFile(m, path, limit)
	if err != nil {
		return nil, err
	}
	cal, err := pruning.Windows(tokens, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n := cal.Samples(); n < o.Samples {
		log.Info("the calibration text holds fewer windows than the default; using them all",
			"file", path, "windows", n, "seq_len", o.SeqLen, "default", o.Samples)
	}
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
