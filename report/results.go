package report

import (
	"lopper/eval"
	"lopper/history"
	"lopper/pipeline"
)

// reportResults is the table at the top of a report: the headline metrics
// of every covered stage that measured a model, in run order, so that a
// run's story (baseline → pruned → retrained, or a loop's kept iteration)
// reads in one place before the details.
type reportResults struct {
	Columns []string
	Rows    []reportResultRow
}

type reportResultRow struct {
	Path  string
	Cells []string
}

// reportResultMetrics are the Results columns, in order; a column shows
// when some row has it (or, with the report's `metrics`, when asked for).
var reportResultMetrics = []string{
	eval.MetricAccuracy, eval.MetricPerplexity, eval.MetricSparsity, eval.MetricNonZero,
	eval.MetricAccDrop, eval.MetricPPLRatio, eval.MetricTokensPerSec,
}

// results returns the Results table, or nil when no covered stage measured
// accuracy or perplexity.
func (b *reportBuilder) results() *reportResults {
	var measured []*pipeline.StageRecord
	have := map[string]float64{}
	for _, s := range b.covered {
		_, acc := s.Metrics[eval.MetricAccuracy]
		_, ppl := s.Metrics[eval.MetricPerplexity]
		if !acc && !ppl {
			continue
		}
		measured = append(measured, s)
		for k, v := range s.Metrics {
			have[k] = v
		}
	}
	if len(measured) == 0 {
		return nil
	}
	cols := b.pickFrom(have, reportResultMetrics)
	if len(b.cfg.Metrics) > 0 {
		cols = b.pickFrom(have, b.cfg.Metrics)
	}
	r := &reportResults{Columns: cols}
	for _, s := range measured {
		row := reportResultRow{Path: s.Path}
		for _, c := range cols {
			cell := "-"
			if v, ok := s.Metrics[c]; ok {
				cell = history.FormatNumber(v)
			}
			row.Cells = append(row.Cells, cell)
		}
		r.Rows = append(r.Rows, row)
	}
	return r
}
