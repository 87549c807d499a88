package sched

import (
	"maps"
	"slices"

	"lopper/pipeline"
)

// withDerived returns res with the stage's derived metrics added (a new
// Result: the kind's is not modified). See pipeline.MetricAccDrop.
func (m *Machine) withDerived(s *pipeline.Stage, res *pipeline.Result) *pipeline.Result {
	names := s.Metrics()
	wantAcc, wantPpl := slices.Contains(names, pipeline.MetricAccDrop), slices.Contains(names, pipeline.MetricPplRatio)
	if !wantAcc && !wantPpl {
		return res
	}
	b, ok := m.baselineResult()
	if !ok {
		return res
	}
	out := *res
	out.Metrics = maps.Clone(res.Metrics)
	if out.Metrics == nil {
		out.Metrics = pipeline.Metrics{}
	}
	if wantAcc {
		out.Metrics[pipeline.MetricAccDrop] = b.Metrics[pipeline.MetricAccuracy] - res.Metrics[pipeline.MetricAccuracy]
	}
	if wantPpl {
		out.Metrics[pipeline.MetricPplRatio] = res.Metrics[pipeline.MetricPerplexity] / b.Metrics[pipeline.MetricPerplexity]
	}
	return &out
}

// baselineResult is the recipe's baseline stage's result, once it succeeded.
func (m *Machine) baselineResult() (*pipeline.Result, bool) {
	if m.env != nil {
		return m.env.Baseline, m.env.Baseline != nil
	}
	if m.baseline == nil {
		return nil, false
	}
	j, ok := m.top.plan.byID[m.baseline.ID]
	if !ok {
		return nil, false
	}
	return m.top.states[j].final()
}
