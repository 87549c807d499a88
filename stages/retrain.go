package stages

import (
	"bytes"
	"context"
	"fmt"

	"lopper/model"
	"lopper/pipeline"
	"lopper/train"
)

// RetrainConfig is the with block of `retrain` (defaults in brackets):
//
//	model: prune           # the stage whose model to train (required)
//	data: train.txt        # training text, tokenized with the model's tokenizer (required);
//	                       # a labelled task for an encoder classifier (retrain_classifier.go)
//	steps: 200             # optimizer steps (required)
//	batch_size: 8          # [8] sequences per step
//	seq_len: 128           # [min(128, the model's positions)]; a classifier's examples are truncated to it
//	lr: 1e-4               # [1e-4] peak learning rate
//	warmup_steps: 10       # [0] linear warmup
//	schedule: cosine       # [cosine] | linear | constant, after warmup
//	min_lr: 0              # [0] where the decay ends
//	betas: [0.9, 0.999]    # AdamW
//	eps: 1e-8
//	weight_decay: 0        # [0] decoupled, on 2-D tensors only
//	grad_clip: 1.0         # [1.0] max gradient L2 norm; 0 disables
//	seed: 0                # batch sampling
//	teacher: base          # optional: distil from this stage's model
//	distill: {temperature: 2, alpha: 0.5}   # [2, 0.5]; see package train for the loss
//	trainable: 'model\.layers\.(1|2)\.mlp\.'   # [every tensor] RE2 over tensor names: only those are trained
//	recompute: false       # [false] recompute each block's activations in the backward pass
//	debug_masks: false     # verify the masks after every step
//	eval_every: 50         # optional: held-out loss every N steps
//	eval_data: valid.txt   # [data] text for the held-out loss
//	eval_batches: 4        # [4]
//
// The input model is cloned, never changed, except when this stage is its
// last reader (StageContext.Take): then it is trained in place (the same
// weights as training a clone). Pruned weights — the mask's
// zeros, or, for a model without a mask (a pruned model loaded from
// disk), its exactly-zero prunable weights — stay exactly zero: verified
// after every step with debug_masks and always at the end, the stage
// failing with the tensor's name if one moved. Tensors that trainable does
// not match keep their weights bit for bit and cost no gradients or AdamW
// moments; recompute trades one more forward pass per step for keeping one
// block's activations instead of every block's (bit-identical results).
// Both are for language models (see train.Config).
type RetrainConfig struct {
	Model       pipeline.Ref   `yaml:"model"`
	Data        string         `yaml:"data"`
	Steps       int            `yaml:"steps"`
	BatchSize   int            `yaml:"batch_size"`
	SeqLen      int            `yaml:"seq_len"`
	LR          float64        `yaml:"lr"`
	WarmupSteps int            `yaml:"warmup_steps"`
	Schedule    string         `yaml:"schedule"`
	MinLR       float64        `yaml:"min_lr"`
	Betas       []float64      `yaml:"betas"`
	Eps         float64        `yaml:"eps"`
	WeightDecay float64        `yaml:"weight_decay"`
	GradClip    *float64       `yaml:"grad_clip"`
	Seed        uint64         `yaml:"seed"`
	Teacher     pipeline.Ref   `yaml:"teacher"`
	Distill     *DistillConfig `yaml:"distill"`
	Trainable   string         `yaml:"trainable,omitempty"`
	Recompute   bool           `yaml:"recompute,omitempty"`
	DebugMasks  bool           `yaml:"debug_masks"`
	EvalEvery   int            `yaml:"eval_every"`
	EvalData    string         `yaml:"eval_data"`
	EvalBatches int            `yaml:"eval_batches"`
}

// DistillConfig is retrain's distill block.
type DistillConfig struct {
	Temperature float64 `yaml:"temperature"`
	Alpha       float64 `yaml:"alpha"`
}

const (
	defaultLR       = 1e-4
	defaultGradClip = 1.0
	defaultSeqLen   = 128
)

func registerRetrain(reg *pipeline.Registry) {
	reg.Register("retrain", pipeline.Typed(pipeline.KindOf[RetrainConfig]{
		Check: checkRetrain, Declare: declareRetrain, Run: runRetrain,
	}))
}

func checkRetrain(c *pipeline.Checker, cfg *RetrainConfig) {
	checkRef(c, "model", cfg.Model, "model")
	if cfg.Data == "" {
		c.Errorf("data", "required: the training text file")
	}
	checkFile(c, "data", cfg.Data)
	checkFile(c, "eval_data", cfg.EvalData)
	if cfg.Steps < 1 {
		c.Errorf("steps", "required: at least 1 optimizer step, got %d", cfg.Steps)
	}
	checkPositive(c, "batch_size", cfg.BatchSize)
	checkPositive(c, "seq_len", cfg.SeqLen)
	checkPositive(c, "eval_every", cfg.EvalEvery)
	checkPositive(c, "eval_batches", cfg.EvalBatches)
	lrOK := cfg.LR >= 0
	if !lrOK {
		c.Errorf("lr", "must be positive, got %g", cfg.LR)
	}
	// min_lr is compared with lr only when lr is good: a bad lr is the
	// root cause, not a min_lr the recipe may not even set.
	switch {
	case !(cfg.MinLR >= 0):
		c.Errorf("min_lr", "must not be negative, got %g", cfg.MinLR)
	case lrOK && cfg.MinLR > cfg.lr():
		c.Errorf("min_lr", "must be in [0, lr %g], got %g", cfg.lr(), cfg.MinLR)
	}
	if cfg.WarmupSteps < 0 || (cfg.Steps > 0 && cfg.WarmupSteps > cfg.Steps) {
		c.Errorf("warmup_steps", "must be in [0, steps %d], got %d", cfg.Steps, cfg.WarmupSteps)
	}
	switch train.Schedule(cfg.Schedule) {
	case "", train.Cosine, train.Linear, train.Constant:
	default:
		c.Errorf("schedule", "%q is not a schedule; want cosine, linear or constant", cfg.Schedule)
	}
	if cfg.Betas != nil && (len(cfg.Betas) != 2 || !(cfg.Betas[0] >= 0 && cfg.Betas[0] < 1) || !(cfg.Betas[1] >= 0 && cfg.Betas[1] < 1)) {
		c.Errorf("betas", "want two numbers in [0, 1), e.g. [0.9, 0.999], got %v", cfg.Betas)
	}
	if cfg.Eps < 0 {
		c.Errorf("eps", "must be positive, got %g", cfg.Eps)
	}
	if cfg.WeightDecay < 0 {
		c.Errorf("weight_decay", "must not be negative, got %g", cfg.WeightDecay)
	}
	if cfg.GradClip != nil && *cfg.GradClip < 0 {
		c.Errorf("grad_clip", "must not be negative (0 disables clipping), got %g", *cfg.GradClip)
	}
	if d := cfg.Distill; d != nil {
		if cfg.Teacher.IsZero() {
			c.Errorf("distill", "distillation needs a teacher: the stage whose model to distil from")
		}
		if d.Temperature < 0 {
			c.Errorf("distill.temperature", "must be positive, got %g", d.Temperature)
		}
		if d.Alpha < 0 || d.Alpha > 1 {
			c.Errorf("distill.alpha", "must be in [0, 1], got %g", d.Alpha)
		}
	}
	checkRegexp(c, "trainable", cfg.Trainable)
	if cfg.EvalData != "" && cfg.EvalEvery == 0 {
		c.Errorf("eval_data", "is used every eval_every steps: set eval_every")
	}
}

func (cfg *RetrainConfig) lr() float64 {
	if cfg.LR == 0 {
		return defaultLR
	}
	return cfg.LR
}

var retrainMetrics = []string{"final_loss", "initial_loss", "steps", "tokens", "sparsity"}

func declareRetrain(cfg *RetrainConfig) pipeline.Decl {
	d := pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Metrics: retrainMetrics, Artifacts: []string{ArtifactModel},
		Files: []string{cfg.Data, cfg.EvalData}, Memory: retrainMemory(cfg)}
	if !cfg.Teacher.IsZero() {
		d.Inputs = append(d.Inputs, modelInput(cfg.Teacher))
	}
	if cfg.EvalEvery > 0 {
		d.Metrics = append(d.Metrics, "eval_loss")
	}
	return d
}

// retrainDetails is retrain's Details: the loss curve and what was run.
type retrainDetails struct {
	Steps int               `json:"steps"`
	Curve []train.StepStats `json:"curve"` // per step: loss, lr, grad norm, …
	Mask  string            `json:"mask"`  // where the held mask came from
}

func runRetrain(ctx context.Context, sc *pipeline.StageContext, cfg *RetrainConfig) (*pipeline.Result, error) {
	var in *ModelArtifact
	var owned bool
	var err error
	if cfg.Teacher.ID == cfg.Model.ID {
		in, err = inputModel(sc, cfg.Model) // also the teacher: read twice, never taken
	} else {
		in, owned, err = takeModel(sc, cfg.Model)
	}
	if err != nil {
		return nil, err
	}
	tcfg, err := trainConfig(sc, cfg, in.Model)
	if err != nil {
		return nil, err
	}
	var tokens []int32
	if !isClassifier(in.Model) {
		if tokens, err = trainingText(in.Model, sc.Resolve(cfg.Data), tcfg.SeqLen); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		if cfg.EvalEvery > 0 {
			evalTokens := tokens
			if cfg.EvalData != "" {
				if evalTokens, err = trainingText(in.Model, sc.Resolve(cfg.EvalData), tcfg.SeqLen); err != nil {
					return nil, fmt.Errorf("eval_data: %w", err)
				}
			}
			tcfg.Eval = train.Stream{Tokens: evalTokens}
		}
	}
	m := in.Model
	if owned && !m.Lazy() {
		sc.Log.Debug("training the input model in place: this stage is its last reader")
	} else {
		m = m.Clone()
	}
	maskFrom := "mask"
	if m.Mask == nil {
		maskFrom = "none (dense)"
		if n := train.MaskZeros(m); n > 0 {
			maskFrom = fmt.Sprintf("the model's %d exactly-zero prunable weights (it has no mask)", n)
		}
	}
	tcfg.OnStep = func(s train.StepStats) {
		sc.Progress(s.Step, tcfg.Steps, "steps")
		sc.Log.Debug("step", "step", s.Step, "loss", s.Loss, "lr", s.LR, "grad_norm", s.GradNorm)
	}
	var res *train.Result
	if isClassifier(m) {
		res, err = retrainClassifier(ctx, sc, cfg, m, tcfg)
	} else {
		res, err = train.Train(ctx, m, train.Stream{Tokens: tokens}, tcfg)
	}
	if err != nil {
		return nil, err
	}
	sp, _ := m.Sparsity(model.Prunable)
	metrics := pipeline.Metrics{
		"final_loss": res.FinalLoss, "initial_loss": res.InitialLoss, "steps": float64(len(res.Steps)),
		"tokens": float64(res.Tokens), "sparsity": sp,
	}
	if cfg.EvalEvery > 0 {
		metrics["eval_loss"] = res.EvalLoss
	}
	sc.Log.Info("retrained", "steps", len(res.Steps), "initial_loss", res.InitialLoss, "final_loss", res.FinalLoss, "sparsity", sp)
	summary := map[string]any{"steps": len(res.Steps), "lr": tcfg.LR, "data": sc.RecipePath(cfg.Data), "final_loss": res.FinalLoss}
	if cfg.Trainable != "" {
		summary["trainable"] = cfg.Trainable
	}
	if !cfg.Teacher.IsZero() {
		summary["teacher"] = cfg.Teacher.ID
	}
	a := NewModelArtifact(m, in.History, HistoryStep{Stage: sc.Path, Kind: "retrain", Summary: summary})
	return &pipeline.Result{
		Metrics:   metrics,
		Artifacts: map[string]pipeline.Artifact{ArtifactModel: a},
		Details:   retrainDetails{Steps: len(res.Steps), Curve: res.Steps, Mask: maskFrom},
	}, nil
}

// trainingText tokenizes the text file at path with m's tokenizer and
// checks that it holds a training sequence of seqLen tokens (and the
// target after it); errors name the file.
func trainingText(m *model.Model, path string, seqLen int) ([]int32, error) {
	tokens, err := tokenizeFile(m, path, 0)
	if err != nil {
		return nil, err
	}
	if len(tokens) < seqLen+1 {
		return nil, fmt.Errorf("%s has %d tokens; a training sequence of %d needs at least %d", path, len(tokens), seqLen, seqLen+1)
	}
	return tokens, nil
}

// trainConfig turns the stage config into train's, with the stage's
// defaults, and resolves the teacher.
func trainConfig(sc *pipeline.StageContext, cfg *RetrainConfig, m *model.Model) (train.Config, error) {
	t := train.Config{
		Steps: cfg.Steps, BatchSize: cfg.BatchSize, SeqLen: cfg.SeqLen, LR: cfg.lr(), WarmupSteps: cfg.WarmupSteps,
		Schedule: train.Schedule(cfg.Schedule), MinLR: cfg.MinLR, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay,
		GradClip: defaultGradClip, Seed: cfg.Seed, DebugMasks: cfg.DebugMasks, EvalEvery: cfg.EvalEvery,
		EvalBatches: cfg.EvalBatches, Trainable: cfg.Trainable, Recompute: cfg.Recompute,
	}
	if t.SeqLen == 0 {
		t.SeqLen = min(defaultSeqLen, m.Config.MaxPos)
	}
	if len(cfg.Betas) == 2 {
		t.Beta1, t.Beta2 = cfg.Betas[0], cfg.Betas[1]
	}
	if cfg.GradClip != nil {
		t.GradClip = *cfg.GradClip
	}
	if cfg.Teacher.IsZero() {
		return t, nil
	}
	teacher, err := inputModel(sc, cfg.Teacher)
	if err != nil {
		return t, err
	}
	if !bytes.Equal(teacher.Model.TokenizerJSON, m.TokenizerJSON) {
		return t, fmt.Errorf("teacher %s has another tokenizer than the model: distillation runs both on the same tokens", cfg.Teacher.ID)
	}
	t.Teacher = residentModel(teacher.Model) // training runs resident models only
	if cfg.Distill != nil {
		t.Distill = train.Distill{Temperature: cfg.Distill.Temperature, Alpha: cfg.Distill.Alpha}
	}
	return t, nil
}
