package stages

import (
	"context"
	"fmt"
	"maps"

	"lopper/eval"
	"lopper/model"
	"lopper/pipeline"
)

// EvaluateConfig is the with block of `evaluate`:
//
//	model: base            # the stage whose model to evaluate (required)
//	text: eval.txt         # perplexity and next-token accuracy on a text file
//	hellaswag: hs.txt      # or choices: tasks.jsonl — multiple-choice accuracy
//	classify: dev.tsv      # or a labelled task for an encoder classifier (see evaluate_classify.go)
//	max_length: 128        # classify: tokens per input; default the model's positions
//	problem_type: single_label_classification   # classify: what the model is [single_label_classification]
//	seq_len: 128           # text window length; default the model's positions
//	stride: 128            # distance between windows; default seq_len
//	limit: 100             # only the first N text windows, N tasks and N labelled examples
//	sample: true           # with limit: N tasks drawn at random with seed
//	seed: 0
//	batch: 4               # text windows (default 1) or labelled examples (default 8) per forward pass
//	size: true             # params, params_nonzero, sparsity
//	speed: {batch: 1, seq_len: 128, warmup: 2, repeats: 10}
//	baseline: baseline     # an evaluate stage to compare with
//
// Metrics (see README "Stage kinds"): text gives perplexity,
// token_accuracy and tokens; a multiple-choice set gives acc, acc_norm and
// tasks; a labelled task gives its problem type's metrics
// (classifyMetrics). The headline `accuracy` — what acc_drop reads — is
// eval's (eval.MetricAccuracy): acc_norm when a multiple-choice set is
// evaluated, task accuracy for a labelled task, else the text's next-token
// accuracy. With a baseline, eval.Relative gives
// acc_drop = baseline.accuracy − accuracy, ppl_ratio = perplexity /
// baseline.perplexity (the engine's definitions too, which it applies
// itself to stages downstream of the recipe's top-level baseline: name the
// same stage in both places), size_ratio and compression (with size) and
// speedup (with speed); the baseline must have measured the same things.
type EvaluateConfig struct {
	Model     pipeline.Ref `yaml:"model"`
	Text      string       `yaml:"text"`
	HellaSwag string       `yaml:"hellaswag"`
	Choices   string       `yaml:"choices"`
	Classify  string       `yaml:"classify"`
	MaxLength int          `yaml:"max_length"`
	Problem   string       `yaml:"problem_type"`
	SeqLen    int          `yaml:"seq_len"`
	Stride    int          `yaml:"stride"`
	Limit     int          `yaml:"limit"`
	Sample    bool         `yaml:"sample"`
	Seed      uint64       `yaml:"seed"`
	Batch     int          `yaml:"batch"`
	Size      bool         `yaml:"size"`
	Speed     *SpeedConfig `yaml:"speed"`
	Baseline  pipeline.Ref `yaml:"baseline"`
}

// SpeedConfig is evaluate's speed block (zero values: eval.SpeedOptions'
// defaults).
type SpeedConfig struct {
	Batch   int `yaml:"batch"`
	SeqLen  int `yaml:"seq_len"`
	Warmup  int `yaml:"warmup"`
	Repeats int `yaml:"repeats"`
}

func registerEvaluate(reg *pipeline.Registry) {
	reg.Register("evaluate", pipeline.Typed(pipeline.KindOf[EvaluateConfig]{
		Check: checkEvaluate, Declare: declareEvaluate, Run: runEvaluate,
	}))
}

func (cfg *EvaluateConfig) choiceFile() string {
	if cfg.HellaSwag != "" {
		return cfg.HellaSwag
	}
	return cfg.Choices
}

func checkEvaluate(c *pipeline.Checker, cfg *EvaluateConfig) {
	checkRef(c, "model", cfg.Model, "model")
	if cfg.Text == "" && cfg.choiceFile() == "" && cfg.Classify == "" && !cfg.Size && cfg.Speed == nil {
		c.Errorf("", "nothing to evaluate: give text, hellaswag, choices or classify, size: true or speed")
	}
	checkClassify(c, cfg)
	if cfg.HellaSwag != "" && cfg.Choices != "" {
		c.Errorf("choices", "give hellaswag or choices, not both (one multiple-choice set per stage)")
	}
	checkFile(c, "text", cfg.Text)
	checkFile(c, "hellaswag", cfg.HellaSwag)
	checkFile(c, "choices", cfg.Choices)
	for _, f := range []struct {
		name string
		v    int
	}{{"seq_len", cfg.SeqLen}, {"stride", cfg.Stride}, {"limit", cfg.Limit}, {"batch", cfg.Batch}} {
		checkPositive(c, f.name, f.v)
	}
	if cfg.SeqLen > 0 && cfg.Stride > cfg.SeqLen {
		c.Errorf("stride", "must be at most seq_len (%d), got %d", cfg.SeqLen, cfg.Stride)
	}
	if cfg.Sample && cfg.Limit == 0 {
		c.Errorf("sample", "sampling draws limit tasks: set limit")
	}
	if s := cfg.Speed; s != nil {
		checkPositive(c, "speed.batch", s.Batch)
		checkPositive(c, "speed.seq_len", s.SeqLen)
		checkPositive(c, "speed.warmup", s.Warmup)
		checkPositive(c, "speed.repeats", s.Repeats)
	}
}

// evaluateMetrics are the metric names cfg produces.
func evaluateMetrics(cfg *EvaluateConfig) []string {
	var ms []string
	if cfg.Text != "" {
		ms = append(ms, eval.MetricPerplexity, "token_accuracy", eval.MetricTokens)
	}
	if cfg.choiceFile() != "" {
		ms = append(ms, eval.MetricAcc, eval.MetricAccNorm, "tasks")
	}
	hasAcc := cfg.Text != "" || cfg.choiceFile() != ""
	if hasAcc {
		ms = append(ms, eval.MetricAccuracy)
	}
	if cfg.Classify != "" {
		ms = append(ms, classifyMetrics(cfg.problem())...)
		hasAcc = cfg.problem() != eval.Regression
	}
	if cfg.Size {
		ms = append(ms, eval.MetricParams, eval.MetricNonZero, eval.MetricSparsity, eval.MetricBytes)
	}
	if cfg.Speed != nil {
		ms = append(ms, eval.MetricTokensPerSec, eval.MetricLatencyMS)
	}
	if !cfg.Baseline.IsZero() {
		if hasAcc {
			ms = append(ms, eval.MetricAccDrop)
		}
		if cfg.Text != "" {
			ms = append(ms, eval.MetricPPLRatio)
		}
		if cfg.Size {
			ms = append(ms, eval.MetricSizeRatio, eval.MetricCompression, eval.MetricDiskRatio)
		}
		if cfg.Speed != nil {
			ms = append(ms, eval.MetricSpeedup)
		}
	}
	return ms
}

func declareEvaluate(cfg *EvaluateConfig) pipeline.Decl {
	d := pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Metrics: evaluateMetrics(cfg),
		Files:    []string{cfg.Text, cfg.HellaSwag, cfg.Choices, cfg.Classify},
		Volatile: cfg.Speed != nil, // timings differ from run to run: never reused
		Memory:   evaluateMemory(cfg)}
	if !cfg.Baseline.IsZero() {
		d.Inputs = append(d.Inputs, pipeline.Input{Ref: cfg.Baseline})
	}
	return d
}

// evaluateDetails is evaluate's Details: every result with its protocol.
type evaluateDetails struct {
	Text    *eval.TextResult   `json:"text,omitempty"`
	Choices *eval.ChoiceResult `json:"choices,omitempty"`
	// Classify is the labelled task's result, without per-example scores.
	Classify *eval.ClassifyResult `json:"classify,omitempty"`
	Size     *eval.SizeResult     `json:"size,omitempty"` // without the per-tensor list
	Speed    *eval.SpeedResult    `json:"speed,omitempty"`
}

func runEvaluate(ctx context.Context, sc *pipeline.StageContext, cfg *EvaluateConfig) (*pipeline.Result, error) {
	in, err := inputModel(sc, cfg.Model)
	if err != nil {
		return nil, err
	}
	m := in.Model
	out := pipeline.Metrics{}
	var det evaluateDetails
	if cfg.Text != "" {
		path := sc.Resolve(cfg.Text)
		r, err := eval.TextFile(ctx, m, path, eval.TextOptions{
			SeqLen: cfg.SeqLen, Stride: cfg.Stride, Limit: cfg.Limit, Batch: cfg.Batch,
			Progress: func(done, total int) { sc.Progress(done, total, "windows") },
		})
		if err != nil {
			return nil, fmt.Errorf("text: %w", err)
		}
		det.Text = &r
		out[eval.MetricPerplexity], out["token_accuracy"], out[eval.MetricTokens] = r.Perplexity, r.Accuracy, float64(r.Tokens)
		out[eval.MetricAccuracy] = r.Metrics()[eval.MetricAccuracy]
	}
	if f := cfg.choiceFile(); f != "" {
		r, err := evaluateChoices(ctx, sc, cfg, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		det.Choices = r
		out[eval.MetricAcc], out[eval.MetricAccNorm], out["tasks"] = r.Acc, r.AccNorm, float64(r.Tasks)
		out[eval.MetricAccuracy] = r.Metrics()[eval.MetricAccuracy] // the multiple-choice headline wins over the text's
	}
	if cfg.Classify != "" {
		r, err := evaluateClassify(ctx, sc, cfg, residentModel(m)) // encoder classifiers run resident only
		if err != nil {
			return nil, err
		}
		det.Classify = r
		maps.Copy(out, pipeline.Metrics(r.Metrics()))
	}
	if cfg.Size {
		s, err := eval.Size(m, "")
		if err != nil {
			return nil, err
		}
		// What a save of this model in its storage dtypes would write.
		if s.BytesOnDisk, err = m.SavedSize(model.SaveOptions{}); err != nil {
			return nil, fmt.Errorf("size: %w", err)
		}
		s.Tensors = nil
		det.Size = &s
		for k, v := range s.Metrics() {
			out[k] = v
		}
	}
	if sp := cfg.Speed; sp != nil {
		r, err := eval.Speed(ctx, m, eval.SpeedOptions{Batch: sp.Batch, SeqLen: sp.SeqLen, Warmup: sp.Warmup, Repeats: sp.Repeats, Seed: cfg.Seed})
		if err != nil {
			return nil, fmt.Errorf("speed: %w", err)
		}
		det.Speed = &r
		for k, v := range r.Metrics() {
			out[k] = v
		}
	}
	if !cfg.Baseline.IsZero() {
		if err := addRelative(sc, cfg, out); err != nil {
			return nil, err
		}
	}
	sc.Log.Info("evaluated", metricArgs(out)...)
	return &pipeline.Result{Metrics: out, Details: det}, nil
}

func evaluateChoices(ctx context.Context, sc *pipeline.StageContext, cfg *EvaluateConfig, in *ModelArtifact) (*eval.ChoiceResult, error) {
	var tf *eval.TaskFile
	var err error
	if cfg.HellaSwag != "" {
		tf, err = eval.ReadHellaSwag(sc.Resolve(cfg.HellaSwag))
	} else {
		tf, err = eval.ReadChoicesJSONL(sc.Resolve(cfg.Choices))
	}
	if err != nil {
		return nil, err
	}
	r, err := eval.Choices(ctx, in.Model, tf, eval.ChoiceOptions{
		Limit: cfg.Limit, Sample: cfg.Sample, Seed: cfg.Seed,
		Progress: func(done, total int) { sc.Progress(done, total, "tasks") },
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// addRelative adds the metrics relative to the baseline stage.
func addRelative(sc *pipeline.StageContext, cfg *EvaluateConfig, out pipeline.Metrics) error {
	res, err := sc.Input(cfg.Baseline)
	if err != nil {
		return err
	}
	base := res.Metrics
	rel := eval.Relative(eval.Metrics(base), eval.Metrics(out))
	for _, r := range []struct {
		when       bool
		need, name string
	}{
		{hasMetric(out, eval.MetricAccuracy), eval.MetricAccuracy, eval.MetricAccDrop},
		{hasMetric(out, eval.MetricPerplexity), eval.MetricPerplexity, eval.MetricPPLRatio},
		{cfg.Size, eval.MetricNonZero, eval.MetricSizeRatio},
		{cfg.Size, eval.MetricNonZero, eval.MetricCompression},
		{cfg.Size, eval.MetricBytes, eval.MetricDiskRatio},
		{cfg.Speed != nil, eval.MetricTokensPerSec, eval.MetricSpeedup},
	} {
		if !r.when {
			continue
		}
		if _, ok := base[r.need]; !ok {
			return fmt.Errorf("baseline %s has no %s metric, needed for %s: evaluate it the same way", cfg.Baseline.ID, r.need, r.name)
		}
		v, ok := rel[r.name]
		if !ok {
			return fmt.Errorf("%s against baseline %s is undefined: a %s of zero (this stage's %g, the baseline's %g)", r.name, cfg.Baseline.ID, r.need, out[r.need], base[r.need])
		}
		out[r.name] = v
	}
	return nil
}

func hasMetric(m pipeline.Metrics, name string) bool {
	_, ok := m[name]
	return ok
}
