package pipeline

import (
	"maps"
	"slices"
)

// Derived metrics. For a stage downstream of the recipe's baseline B (it
// depends on B, directly or through other stages or an enclosing loop or
// matrix) that produces accuracy / perplexity while B does too:
//
//	acc_drop  = B.accuracy - stage.accuracy
//	ppl_ratio = stage.perplexity / B.perplexity
//
// In a loop's until, the bare names acc_drop and ppl_ratio are those of the
// loop's measure stage in the iteration just finished.
const (
	MetricAccuracy   = "accuracy"
	MetricPerplexity = "perplexity"
	MetricAccDrop    = idAccDrop
	MetricPplRatio   = idPplRatio
)

// withDerived returns res with the stage's derived metrics added (a new
// Result: the kind's is not modified).
func (x *scopeRun) withDerived(s *Stage, res *Result) *Result {
	names := s.metricNames()
	wantAcc, wantPpl := slices.Contains(names, MetricAccDrop), slices.Contains(names, MetricPplRatio)
	if !wantAcc && !wantPpl {
		return res
	}
	b, ok := x.baselineResult()
	if !ok {
		return res
	}
	out := *res
	out.Metrics = maps.Clone(res.Metrics)
	if out.Metrics == nil {
		out.Metrics = Metrics{}
	}
	if wantAcc {
		out.Metrics[MetricAccDrop] = b.Metrics[MetricAccuracy] - res.Metrics[MetricAccuracy]
	}
	if wantPpl {
		out.Metrics[MetricPplRatio] = res.Metrics[MetricPerplexity] / b.Metrics[MetricPerplexity]
	}
	return &out
}

// baselineResult finds the baseline stage's result in the top scope.
func (x *scopeRun) baselineResult() (*Result, bool) {
	top := x
	for top.parent != nil {
		top = top.parent
	}
	b := top.sc.baseline
	if b == nil {
		return nil, false
	}
	return top.outcomes[b].final()
}
