package stages

import (
	"context"

	"lopper/eval"
	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// PruneConfig is the with block of `prune`:
//
//	model: base              # the stage whose model to prune (required)
//	scores: sc               # optional: a score stage's scores (then no targets/ignore)
//	method: wanda            # unstructured / N:M: magnitude | random | wanda | sparsegpt | taylor [magnitude]
//	                         # neurons / heads: l1 | l2 (or magnitude) | activation | wanda | taylor | random [l2]
//	                         # layers: block_influence | taylor | random [block_influence]
//	pattern: unstructured    # | 2:4 | 4:8 (any N:M) | neurons | heads | layers
//	scope: row               # unstructured: row | layer | global | owl [row for wanda and N:M, else layer]
//	                         # neurons / heads: layer | global [layer]
//	sparsity: 0.5            # fraction to prune (of weights, or of structures); N:M fixes it
//	count: 1                 # structured only: number of structures instead of sparsity
//	schedule: {kind: gradual, from: 0.2, to: 0.8, steps: 4, curve: cubic}   # instead of sparsity
//	targets: [...]           # regexps over tensor names; ignore: [...]
//	calib: {file: calib.txt} # see CalibConfig; wanda, sparsegpt, taylor, owl, activation, block_influence
//	calib_mode: sequential   # | one-pass (wanda, sparsegpt)
//	seed: 0                  # random's seed
//	nonuniform: round        # structured with scope global: round | refuse | keep
//	head_mode: kv_groups     # heads under GQA: kv_groups | query_heads
//	owl: {lambda: 0.08, m: 5}
//	sparsegpt: {percdamp: 0.01, blocksize: 128}
//
// Pruning returns a new model with a mask (unstructured, N:M) or a
// physically smaller dense model (structured). The input model is not
// changed, except when this stage is its last reader (StageContext.Take):
// then unstructured and N:M pruning without scores prune it in place
// (pruning.PruneInPlace, the same weights and mask) instead of copying its
// weights. Re-pruning a sparse model raises its sparsity from where it
// is and never revives a pruned weight.
type PruneConfig struct {
	Model         pipeline.Ref    `yaml:"model"`
	Scores        pipeline.Ref    `yaml:"scores"`
	Method        string          `yaml:"method"`
	Pattern       string          `yaml:"pattern"`
	Scope         string          `yaml:"scope"`
	Sparsity      *float64        `yaml:"sparsity"`
	Count         int             `yaml:"count"`
	Schedule      *ScheduleConfig `yaml:"schedule"`
	TargetsConfig `yaml:",inline"`
	Calib         *CalibConfig              `yaml:"calib"`
	CalibMode     string                    `yaml:"calib_mode"`
	Seed          uint64                    `yaml:"seed"`
	NonUniform    string                    `yaml:"nonuniform"`
	HeadMode      string                    `yaml:"head_mode"`
	OWL           *pruning.OWLOptions       `yaml:"owl"`
	SparseGPT     *pruning.SparseGPTOptions `yaml:"sparsegpt"`
}

var pruneMetrics = []string{"sparsity", "target_sparsity", "params", "nonzero", "removed"}

func registerPrune(reg *pipeline.Registry) {
	reg.Register("prune", pipeline.Typed(pipeline.KindOf[PruneConfig]{
		Check: checkPrune, Declare: declarePrune, Run: runPrune,
	}))
}

func declarePrune(cfg *PruneConfig) pipeline.Decl {
	d := pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Metrics: pruneMetrics, Artifacts: []string{ArtifactModel},
		Memory: pruneMemory(cfg)}
	if cfg.Calib != nil {
		d.Files = []string{cfg.Calib.File}
	}
	if !cfg.Scores.IsZero() {
		d.Inputs = append(d.Inputs, pipeline.Input{Ref: cfg.Scores, Artifact: ArtifactScores})
	}
	return d
}

func runPrune(ctx context.Context, sc *pipeline.StageContext, cfg *PruneConfig) (*pipeline.Result, error) {
	in, owned, err := takeModel(sc, cfg.Model)
	if err != nil {
		return nil, err
	}
	pat, err := pruning.ParsePattern(cfg.Pattern)
	if err != nil {
		return nil, err
	}
	target, err := cfg.targetSparsity(sc.Iteration)
	if err != nil {
		return nil, err
	}
	var out *model.Model
	var details any
	var removed int
	if isStructured(pat) {
		var rep *pruning.StructuredReport
		out, rep, err = pruneStructured(ctx, sc, cfg, pat, residentModel(in.Model), target)
		if err == nil {
			details, removed = rep, rep.ParamsBefore-rep.ParamsAfter
		}
	} else {
		var rep *pruning.Report
		out, rep, err = pruneWeights(ctx, sc, cfg, pat, in, target, owned)
		if err == nil {
			details, removed, target = rep, rep.Removed(), rep.Sparsity
		}
	}
	if err != nil {
		return nil, err
	}
	size, err := eval.Size(out, "")
	if err != nil {
		return nil, err
	}
	sc.Log.Info("pruned", "pattern", pat.String(), "method", cfg.Method, "target", target, "sparsity", size.Sparsity, "params", size.Params, "removed", removed)
	summary := map[string]any{"method": cfg.Method, "pattern": pat.String(), "target_sparsity": target, "sparsity": size.Sparsity, "params": size.Params}
	if cfg.Count > 0 {
		summary["count"] = cfg.Count
	}
	a := NewModelArtifact(out, in.History, HistoryStep{Stage: sc.Path, Kind: "prune", Summary: summary})
	return &pipeline.Result{
		Metrics: pipeline.Metrics{
			"sparsity": size.Sparsity, "target_sparsity": target, "params": float64(size.Params),
			"nonzero": float64(size.NonZero), "removed": float64(removed),
		},
		Artifacts: map[string]pipeline.Artifact{ArtifactModel: a},
		Details:   details,
	}, nil
}

// targetSparsity is the configured sparsity, or the schedule's at the
// loop iteration; 0 for structured pruning by count.
func (cfg *PruneConfig) targetSparsity(iteration int) (float64, error) {
	switch {
	case cfg.Schedule != nil:
		return cfg.Schedule.at(iteration)
	case cfg.Sparsity != nil:
		return *cfg.Sparsity, nil
	}
	return 0, nil
}

// pruneWeights prunes unstructured or N:M: in's model itself when the
// stage owns it, streamed when it is lazy (prune_lazy.go).
func pruneWeights(ctx context.Context, sc *pipeline.StageContext, cfg *PruneConfig, pat pruning.Pattern, in *ModelArtifact, target float64, owned bool) (*model.Model, *pruning.Report, error) {
	m := in.Model
	o := cfg.options(pat, target, sc.Progress)
	if !cfg.Scores.IsZero() {
		s, err := pipeline.InputArtifact[*ScoresArtifact](sc, cfg.Scores, ArtifactScores)
		if err != nil {
			return nil, nil, err
		}
		return pruning.PruneScored(ctx, m, s.Scores, o)
	}
	if o.Method == "" {
		o.Method = pruning.Magnitude
	}
	cal, err := cfg.Calib.windows(sc, m)
	if err != nil {
		return nil, nil, err
	}
	o.Calib = cal
	if lazyPrunable(m, o) {
		return pruneLazy(ctx, sc, in, owned, o)
	}
	if owned && !m.Lazy() {
		sc.Log.Debug("pruning the input model in place: this stage is its last reader")
		return pruning.PruneInPlace(ctx, m, o)
	}
	return pruning.Prune(ctx, m, o)
}

// options are the unstructured and N:M pruning options of cfg at the
// target sparsity.
func (cfg *PruneConfig) options(pat pruning.Pattern, target float64, progress pruning.ProgressFunc) pruning.Options {
	o := pruning.Options{
		Method: pruning.Method(cfg.Method), Sparsity: target, Pattern: pat, Scope: pruning.Scope(cfg.Scope),
		Targets: cfg.spec(), CalibMode: pruning.CalibMode(cfg.CalibMode), Seed: cfg.Seed, Progress: progress,
	}
	if pat.Kind == pruning.NM && cfg.Sparsity == nil && cfg.Schedule == nil {
		o.Sparsity = 0 // fixed by the pattern
	}
	if cfg.OWL != nil {
		o.OWL = *cfg.OWL
	}
	if cfg.SparseGPT != nil {
		o.SparseGPT = *cfg.SparseGPT
	}
	return o
}

// pruneStructured removes neurons, heads or layers.
func pruneStructured(ctx context.Context, sc *pipeline.StageContext, cfg *PruneConfig, pat pruning.Pattern, m *model.Model, ratio float64) (*model.Model, *pruning.StructuredReport, error) {
	cal, err := cfg.Calib.windows(sc, m)
	if err != nil {
		return nil, nil, err
	}
	crit := pruning.StructCriterion(cfg.Method)
	if cfg.Method == string(pruning.Magnitude) {
		crit = pruning.ByL2 // the norm of each structure's weights, as lopper prune and pruning.Options take it
	}
	o := pruning.StructuredOptions{
		Structure: pruning.Structure(pat.Kind), Criterion: crit, Count: cfg.Count,
		HeadMode: pruning.HeadMode(cfg.HeadMode), Scope: pruning.Allocation(cfg.Scope),
		NonUniform: pruning.NonUniformPolicy(cfg.NonUniform), Calibration: cal, Seed: cfg.Seed, Progress: sc.Progress,
	}
	if cfg.Count == 0 {
		o.Ratio = ratio
	}
	return pruning.PruneStructured(ctx, m, o)
}

func isStructured(p pruning.Pattern) bool {
	return p.Kind == pruning.Neurons || p.Kind == pruning.Heads || p.Kind == pruning.Layers
}
