package stages

import (
	"slices"
	"strings"

	"lopper/pipeline"
	"lopper/pruning"
)

// The methods each kind of pattern takes, in the order messages list them.
var (
	weightMethods = []string{"magnitude", "random", "wanda", "sparsegpt", "taylor"}
	unitMethods   = []string{"l1", "l2", "magnitude", "activation", "wanda", "taylor", "random"} // magnitude: l2, as lopper prune

	layerMethods = []string{"block_influence", "taylor", "random"}
	calibMethods = []string{"wanda", "sparsegpt", "taylor", "activation", "block_influence"}
)

func checkPrune(c *pipeline.Checker, cfg *PruneConfig) {
	checkRef(c, "model", cfg.Model, "model")
	cfg.TargetsConfig.check(c)
	cfg.Calib.check(c, "calib")
	if cfg.Schedule != nil {
		cfg.Schedule.check(c)
	}
	pat, err := pruning.ParsePattern(cfg.Pattern)
	if err != nil {
		c.Errorf("pattern", "%v", err)
		return
	}
	if !c.Known("pattern") {
		return // the checks below depend on the pattern: at run time
	}
	structured := isStructured(pat)
	checkPruneMethod(c, cfg, pat)
	checkPruneAmount(c, cfg, pat)
	switch {
	case structured:
		if cfg.Scope != "" && cfg.Scope != "layer" && cfg.Scope != "global" {
			c.Errorf("scope", "%q: %s are allocated per layer or globally; want layer or global", cfg.Scope, pat.Kind)
		}
		if !cfg.Scores.IsZero() {
			c.Errorf("scores", "weight scores do not apply to %s; structures are scored by method", pat.Kind)
		}
	case cfg.Scope != "" && !slices.Contains([]string{"row", "layer", "global", "owl"}, cfg.Scope):
		c.Errorf("scope", "%q is not a scope; want row, layer, global or owl", cfg.Scope)
	}
	switch cfg.NonUniform {
	case "", "round", "refuse", "keep":
		if cfg.NonUniform != "" && !structured {
			c.Errorf("nonuniform", "applies to structured patterns (neurons, heads) only")
		}
	default:
		c.Errorf("nonuniform", "%q is not a policy; want round, refuse or keep", cfg.NonUniform)
	}
	switch cfg.HeadMode {
	case "", "kv_groups", "query_heads":
		if cfg.HeadMode != "" && pat.Kind != pruning.Heads {
			c.Errorf("head_mode", "applies to pattern heads only")
		}
	default:
		c.Errorf("head_mode", "%q is not a head mode; want kv_groups or query_heads", cfg.HeadMode)
	}
	switch cfg.CalibMode {
	case "", "sequential", "one-pass":
	default:
		c.Errorf("calib_mode", "%q is not a calibration mode; want sequential or one-pass", cfg.CalibMode)
	}
	if !cfg.Scores.IsZero() && (len(cfg.Targets) > 0 || len(cfg.Ignore) > 0) {
		c.Errorf("targets", "the targets were fixed by the score stage %s; drop targets and ignore here", cfg.Scores.ID)
	}
}

// checkPruneMethod checks the method against the pattern, and that
// calibrated methods get calibration data.
func checkPruneMethod(c *pipeline.Checker, cfg *PruneConfig, pat pruning.Pattern) {
	allowed := weightMethods
	switch pat.Kind {
	case pruning.Neurons, pruning.Heads:
		allowed = unitMethods
	case pruning.Layers:
		allowed = layerMethods
	}
	m := cfg.Method
	switch {
	case m == "" && !cfg.Scores.IsZero():
		return // the score stage's method
	case m == "":
	case !slices.Contains(allowed, m):
		c.Errorf("method", "%q does not prune pattern %s; want one of %s", m, pat, strings.Join(allowed, ", "))
		return
	}
	if pat.Kind == pruning.Layers && m == "" {
		m = "block_influence"
	}
	if slices.Contains(calibMethods, m) && cfg.Calib == nil && cfg.Scores.IsZero() {
		c.Errorf("calib", "required: method %s needs calibration data", m)
	}
	if cfg.Scope == "owl" && cfg.Calib == nil && cfg.Scores.IsZero() && m != "magnitude" && m != "" {
		c.Errorf("calib", "required: scope owl weighs layers by %s score outliers, which need calibration data", m)
	}
}

// checkPruneAmount checks that exactly one of sparsity, schedule and (for
// structures) count says how much to prune.
func checkPruneAmount(c *pipeline.Checker, cfg *PruneConfig, pat pruning.Pattern) {
	n := 0
	for _, set := range []bool{cfg.Sparsity != nil, cfg.Schedule != nil, cfg.Count > 0} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		c.Errorf("sparsity", "give one of sparsity, schedule and count")
	case n == 0 && pat.Kind != pruning.NM:
		c.Errorf("sparsity", "required: how much to prune (sparsity: 0.5, a gradual schedule, or for structures a count)")
	}
	if s := cfg.Sparsity; s != nil {
		if err := pruning.CheckSparsity(*s); err != nil {
			c.Errorf("sparsity", "%v", err)
		}
	}
	if cfg.Count < 0 {
		c.Errorf("count", "must be positive, got %d", cfg.Count)
	}
	if cfg.Count > 0 && !isStructured(pat) {
		c.Errorf("count", "counts structures: use it with pattern neurons, heads or layers")
	}
	if cfg.Schedule != nil && pat.Kind != pruning.Unstructured {
		c.Errorf("schedule", "gradual schedules raise unstructured sparsity; pattern %s does not take one", pat)
	}
}
