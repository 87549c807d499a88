package history

import (
	"slices"

	"lopper/pipeline"
)

// Metric names the headline reads. They are the evaluate stage's names
// (package eval); runs does not import eval, so they are repeated here.
const (
	MetricAccuracy   = pipeline.MetricAccuracy // headline: next-token accuracy, or acc_norm for multiple choice
	MetricAcc        = "acc"                   // multiple-choice accuracy, shown when a stage has no accuracy
	MetricPerplexity = pipeline.MetricPerplexity
	MetricSparsity   = "sparsity"
)

// qualityMetrics are the metrics that make a stage an evaluation.
var qualityMetrics = []string{MetricAccuracy, MetricAcc, MetricPerplexity}

// Finished reports whether a stage produced a result (succeeded or cached).
func Finished(s *pipeline.StageRecord) bool {
	return s.Status == pipeline.StageSucceeded || s.Status == pipeline.StageCached
}

// MetricOf returns a stage's metric. A loop that does not carry the metric
// itself answers with its kept iteration's value (from the stage of that
// iteration that ended last among those that have it).
func MetricOf(s *pipeline.StageRecord, name string) (float64, bool) {
	if v, ok := s.Metrics[name]; ok {
		return v, true
	}
	if s.Loop != nil && s.Loop.Kept != nil {
		for _, it := range s.Loop.Iterations {
			if it.Index == *s.Loop.Kept {
				if l, ok := Latest(it.Stages, name); ok {
					return MetricOf(l, name)
				}
			}
		}
	}
	return 0, false
}

// Latest returns the finished stage of list that ended last among those
// that have the metric name (per MetricOf); among equal end times the later
// one in the list wins.
func Latest(list []*pipeline.StageRecord, name string) (*pipeline.StageRecord, bool) {
	var best *pipeline.StageRecord
	for _, s := range list {
		if !Finished(s) {
			continue
		}
		if _, ok := MetricOf(s, name); !ok {
			continue
		}
		if best == nil || !s.Ended.Before(best.Ended) {
			best = s
		}
	}
	return best, best != nil
}

// hasQuality reports whether a stage has an accuracy or perplexity.
func hasQuality(s *pipeline.StageRecord) bool {
	for _, m := range qualityMetrics {
		if _, ok := MetricOf(s, m); ok {
			return true
		}
	}
	return false
}

// Baseline returns the recipe's declared baseline stage when it finished.
func Baseline(rec *pipeline.RunRecord) (*pipeline.StageRecord, bool) {
	if rec.Recipe.Baseline == "" {
		return nil, false
	}
	s, ok := rec.Find(rec.Recipe.Baseline)
	if !ok || !Finished(s) {
		return nil, false
	}
	return s, true
}

// Final returns the stage that holds the run's final quality numbers: of
// the finished top-level stages other than the baseline that have an
// accuracy, acc or perplexity (a loop has its kept iteration's), the one
// that ended last. Matrix branches are variants, not the run's result, so
// they are not considered.
func Final(rec *pipeline.RunRecord) (*pipeline.StageRecord, bool) {
	var best *pipeline.StageRecord
	for _, s := range rec.Stages {
		if !Finished(s) || s.ID == rec.Recipe.Baseline || !hasQuality(s) {
			continue
		}
		if best == nil || !s.Ended.Before(best.Ended) {
			best = s
		}
	}
	return best, best != nil
}

// BeforeAfter returns the stages to compare for "before and after": the
// declared baseline (or, without one, the finished top-level evaluation
// that ended first) and Final. ok is false unless both exist and differ.
func BeforeAfter(rec *pipeline.RunRecord) (before, after *pipeline.StageRecord, ok bool) {
	after, ok = Final(rec)
	if !ok {
		return nil, nil, false
	}
	if b, ok := Baseline(rec); ok {
		return b, after, true
	}
	for _, s := range rec.Stages {
		if s == after || !Finished(s) || !hasQuality(s) {
			continue
		}
		if before == nil || s.Ended.Before(before.Ended) {
			before = s
		}
	}
	return before, after, before != nil
}

// Headline is what a listing shows of a run's results.
type Headline struct {
	// Stage is the path of the stage the quality numbers come from (Final).
	Stage string `json:"stage,omitempty"`
	// Metrics holds accuracy, acc, perplexity and sparsity, those known.
	Metrics pipeline.Metrics `json:"metrics,omitempty"`
}

// HeadlineOf returns a run's headline: the final stage's accuracy, acc and
// perplexity, and the sparsity of the final stage (else of the top-level
// stage other than the baseline that ended last with one).
func HeadlineOf(rec *pipeline.RunRecord) Headline {
	h := Headline{Metrics: pipeline.Metrics{}}
	final, ok := Final(rec)
	if ok {
		h.Stage = final.Path
		for _, m := range qualityMetrics {
			if v, ok := MetricOf(final, m); ok {
				h.Metrics[m] = v
			}
		}
		if v, ok := MetricOf(final, MetricSparsity); ok {
			h.Metrics[MetricSparsity] = v
		}
	}
	if _, ok := h.Metrics[MetricSparsity]; !ok {
		notBaseline := slices.DeleteFunc(slices.Clone(rec.Stages), func(s *pipeline.StageRecord) bool {
			return s.ID == rec.Recipe.Baseline // the dense model's 0 says nothing of the run
		})
		if s, ok := Latest(notBaseline, MetricSparsity); ok {
			h.Metrics[MetricSparsity], _ = MetricOf(s, MetricSparsity)
		}
	}
	if len(h.Metrics) == 0 {
		h.Metrics = nil
	}
	return h
}
