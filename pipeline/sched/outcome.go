package sched

import (
	"fmt"

	"lopper/pipeline"
)

// RunOutcome derives a finished run's status, and why it did not succeed,
// from its stages. Only root causes count: a loop or matrix that failed
// because a stage inside it failed is not counted again.
func RunOutcome(rec *pipeline.RunRecord, interrupted bool) (pipeline.RunStatus, string) {
	var failed, gates []string
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Status != pipeline.StageFailed || failedInside(s) {
			return
		}
		if s.Gate {
			gates = append(gates, fmt.Sprintf("%s: %s", s.Path, s.Error))
		} else {
			failed = append(failed, fmt.Sprintf("%s: %s", s.Path, s.Error))
		}
	})
	switch {
	case interrupted:
		return pipeline.RunInterrupted, ReasonInterrupted
	case len(failed) > 0:
		return pipeline.RunFailed, summarize("stage", failed)
	case len(gates) > 0:
		return pipeline.RunGateFailed, summarize("gate", gates)
	}
	return pipeline.RunSucceeded, ""
}

// failedInside reports whether a stage nested in s failed.
func failedInside(s *pipeline.StageRecord) bool {
	found := false
	s.WalkNested(func(n *pipeline.StageRecord) {
		if n.Status == pipeline.StageFailed {
			found = true
		}
	})
	return found
}

func summarize(what string, list []string) string {
	if len(list) == 1 {
		return fmt.Sprintf("%s %s", what, list[0])
	}
	return fmt.Sprintf("%d %ss failed; first: %s", len(list), what, list[0])
}
