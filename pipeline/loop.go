package pipeline

import (
	"fmt"
	"slices"
)

// Loop keep policies.
const (
	KeepLastPassing = "last_passing"
	KeepLast        = "last"
)

// loopSpec is a loop's with block:
//
//	max_iterations: 10        # required, ≥ 1
//	until: "acc_drop > 0.01"  # optional condition, checked after each iteration
//	keep: last_passing        # or last
//	from: base                # optional: the result `prev` names in iteration 0
//	carry: retrain            # required: the body stage whose result is the
//	                          # iteration's result and the next iteration's prev
//	measure: check            # optional: the body stage acc_drop/ppl_ratio use
type loopSpec struct {
	max     int
	keep    string
	until   *Expr
	from    Ref
	carry   Ref
	measure Ref

	fromStage    *Stage // in the loop's scope
	carryStage   *Stage // in the body
	measureStage *Stage // in the body
}

type loopConfig struct {
	MaxIterations int    `yaml:"max_iterations"`
	Until         string `yaml:"until"`
	Keep          string `yaml:"keep"`
	From          Ref    `yaml:"from"`
	Carry         Ref    `yaml:"carry"`
	Measure       Ref    `yaml:"measure"`
}

// Loop metrics, besides the carried and measured stages' metrics.
const (
	MetricIterations    = "iterations"
	MetricKeptIteration = "kept_iteration"
)

func (l *loader) configureLoop(s *Stage) {
	var cfg loopConfig
	inst, ok := l.decodeControl(s, &cfg, "until")
	spec := &loopSpec{keep: KeepLastPassing}
	s.loop = spec
	if ok {
		spec.max, spec.from, spec.carry, spec.measure = cfg.MaxIterations, cfg.From, cfg.Carry, cfg.Measure
		if cfg.MaxIterations < 1 {
			l.ps.add(l.fieldPos(s, inst, "max_iterations"), fmt.Sprintf("stage %s: max_iterations: required, at least 1 (got %d)", s.ID, cfg.MaxIterations))
		}
		switch cfg.Keep {
		case "":
		case KeepLastPassing, KeepLast:
			spec.keep = cfg.Keep
		default:
			l.ps.add(l.fieldPos(s, inst, "keep"), fmt.Sprintf("stage %s: keep: %q is not a keep policy%s; want %q or %q",
				s.ID, cfg.Keep, didYouMean(cfg.Keep, []string{KeepLastPassing, KeepLast}), KeepLastPassing, KeepLast))
		}
		if cfg.Until != "" {
			spec.until = l.controlExpr(s, inst, "until", cfg.Until)
		}
		if cfg.Carry.ID == "" {
			l.ps.add(l.fieldPos(s, inst, "carry"), fmt.Sprintf("stage %s: carry: required: the body stage whose result each iteration hands on (as prev) and the loop keeps", s.ID))
		}
	}
	l.configureScope(s.body)
	spec.carryStage = l.bodyStage(s, spec.carry, "carry")
	spec.measureStage = l.bodyStage(s, spec.measure, "measure")
	if c := spec.carryStage; c != nil {
		s.decl.Artifacts = slices.Clone(c.decl.Artifacts)
		s.decl.Metrics = slices.Clone(c.decl.Metrics)
	}
	if m := spec.measureStage; m != nil {
		s.decl.Metrics = union(s.decl.Metrics, m.decl.Metrics)
	}
	s.broken = spec.carryStage != nil && spec.carryStage.broken || spec.measureStage != nil && spec.measureStage.broken
	s.decl.Metrics = union(s.decl.Metrics, []string{MetricIterations, MetricKeptIteration})
}

// bodyStage resolves a loop's carry or measure: a stage directly in its body.
func (l *loader) bodyStage(s *Stage, r Ref, key string) *Stage {
	if r.ID == "" || len(s.body.stages) == 0 {
		return nil // nothing to resolve against: the body's own problems are reported
	}
	if t, ok := s.body.byID[r.ID]; ok {
		return t
	}
	l.refError(r, "stage %s: %s: %q is not a stage of this loop's body%s; want one of %s", s.ID, key, r.ID, didYouMean(r.ID, ids(s.body.stages)), oneOf(ids(s.body.stages)))
	return nil
}

// resolveLoop resolves the loop's from and the stages its until reads.
func (l *loader) resolveLoop(s *Stage) {
	spec := s.loop
	if spec.from.ID != "" {
		spec.fromStage = l.depend(s, spec.from, "from")
	}
	if spec.until == nil {
		return
	}
	l.dependOnIdents(s, spec.until)
	if b := l.r.top.baseline; b != nil && (slices.Contains(spec.until.idents, idAccDrop) || slices.Contains(spec.until.idents, idPplRatio)) {
		pos := spec.until.Pos()
		l.depend(s, Ref{ID: b.ID, Line: pos.Line, Col: pos.Col}, "baseline for until")
	}
}

// prevMetrics are the metrics `prev` holds in every iteration: those of the
// carried stage that the from stage also produces.
func (spec *loopSpec) prevMetrics() []string {
	var out []string
	for _, m := range spec.carryStage.decl.Metrics {
		if slices.Contains(spec.fromStage.decl.Metrics, m) {
			out = append(out, m)
		}
	}
	return out
}

// helperMissing says why acc_drop or ppl_ratio is not available in this
// loop's until, or "" when it is.
func (spec *loopSpec) helperMissing(l *loader, name string) string {
	metric := "accuracy"
	if name == idPplRatio {
		metric = "perplexity"
	}
	b := l.r.top.baseline
	switch {
	case b == nil:
		return fmt.Sprintf("%s needs the recipe's top-level `baseline: STAGE` (the stage it compares with)", name)
	case spec.measureStage == nil:
		return fmt.Sprintf("%s in until needs the loop's `with.measure`: the body stage whose %s is compared with the baseline's", name, metric)
	case spec.measureStage.broken || b.broken:
		return "" // their own problems are reported; don't guess at their metrics
	case !slices.Contains(spec.measureStage.decl.Metrics, metric):
		return fmt.Sprintf("%s needs %s, and the measure stage %s does not produce it", name, metric, spec.measureStage.ID)
	case !slices.Contains(b.decl.Metrics, metric):
		return fmt.Sprintf("%s needs %s, and the baseline stage %s does not produce it", name, metric, b.ID)
	}
	return ""
}
