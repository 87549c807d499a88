package pipeline

import (
	"context"
	"fmt"
	"maps"

	"github.com/hashicorp/go-hclog"
)

// runLoop runs a loop's body up to max_iterations times, checking until
// after each iteration, and returns the kept iteration's result: the carry
// stage's metrics and artifacts, the measure stage's metrics (which win on
// a name clash), and the metrics iterations and kept_iteration.
//
// keep: last keeps the last iteration run. keep: last_passing keeps the
// last iteration whose until was false; when until is already true in
// iteration 0, no iteration passed and the loop fails (it does not fall back
// to its from input, which would hand on an unprocessed result as if it
// were one).
func (x *scopeRun) runLoop(ctx context.Context, s *Stage, rec *StageRecord, log hclog.Logger) (*Result, error) {
	spec := s.loop
	lr := &LoopRecord{MaxIterations: spec.max, Keep: spec.keep}
	if spec.until != nil {
		lr.Until = spec.until.Source
	}
	x.rs.rec.update(func() { rec.Loop = lr })
	var prev *Result
	if spec.fromStage != nil {
		var ok bool
		if prev, ok = x.lookup(spec.fromStage.ID); !ok { // from is a dependency: it succeeded
			return nil, fmt.Errorf("internal error: the from stage %s has no result", spec.fromStage.ID)
		}
	}
	type iteration struct{ carry, measure *Result }
	var done []iteration
	kept, stop := -1, ""
	for i := 0; i < spec.max; i++ {
		body := x.rs.newScopeRun(s.body, x, fmt.Sprintf("%s%s[%d]/", x.prefix, s.ID, i), i, prev, x.matrix)
		body.log = x.log.With("iteration", i)
		ir := &IterationRecord{Index: i, Status: StageRunning, Stages: body.records}
		x.rs.rec.update(func() { lr.Iterations = append(lr.Iterations, ir) })
		log.Info("iteration started", "iteration", i)
		body.exec(ctx)
		if err := body.failure(ctx); err != nil {
			x.rs.rec.update(func() { ir.Status = statusOf(ctx) })
			return nil, &innerFailure{msg: fmt.Sprintf("iteration %d: %v", i, err)}
		}
		carry, ok := body.result(spec.carryStage)
		if !ok {
			x.rs.rec.update(func() { ir.Status = StageFailed })
			return nil, fmt.Errorf("iteration %d: the carry stage %s was skipped, so the iteration has no result", i, spec.carryStage.ID)
		}
		it := iteration{carry: carry}
		if spec.measureStage != nil {
			if it.measure, ok = body.result(spec.measureStage); !ok {
				x.rs.rec.update(func() { ir.Status = StageFailed })
				return nil, fmt.Errorf("iteration %d: the measure stage %s was skipped", i, spec.measureStage.ID)
			}
		}
		done = append(done, it)
		var until bool
		if spec.until != nil {
			vals := body.values()
			if it.measure != nil {
				for _, h := range []string{idAccDrop, idPplRatio} {
					if v, ok := it.measure.Metrics[h]; ok {
						vals[h] = v
					}
				}
			}
			var err error
			if until, err = spec.until.evalBool(vals); err != nil {
				x.rs.rec.update(func() { ir.Status = StageFailed })
				return nil, fmt.Errorf("iteration %d: %w", i, err)
			}
		}
		x.rs.rec.update(func() { ir.Status, ir.Until = StageSucceeded, &until })
		if until {
			stop = fmt.Sprintf("until became true after iteration %d: %s", i, spec.until.Source)
			kept = i
			if spec.keep == KeepLastPassing {
				kept = i - 1
			}
			break
		}
		prev = carry
	}
	if stop == "" {
		kept = len(done) - 1
		stop = fmt.Sprintf("reached max_iterations (%d)", spec.max)
	}
	if kept < 0 {
		x.rs.rec.update(func() { lr.StopReason = stop })
		return nil, fmt.Errorf("no iteration passed: %s, and keep is %s", stop, spec.keep)
	}
	x.rs.rec.update(func() { lr.StopReason, lr.Kept = stop, &kept })
	log.Info("loop stopped", "reason", stop, "kept_iteration", kept)

	k := done[kept]
	res := &Result{Metrics: maps.Clone(k.carry.Metrics), Artifacts: maps.Clone(k.carry.Artifacts)}
	if res.Metrics == nil {
		res.Metrics = Metrics{}
	}
	if k.measure != nil {
		maps.Copy(res.Metrics, k.measure.Metrics)
	}
	// The kept iteration's derived metrics are recomputed for the loop.
	delete(res.Metrics, MetricAccDrop)
	delete(res.Metrics, MetricPplRatio)
	res.Metrics[MetricIterations] = float64(len(done))
	res.Metrics[MetricKeptIteration] = float64(kept)
	return res, nil
}

// result returns a body stage's result if it succeeded.
func (x *scopeRun) result(s *Stage) (*Result, bool) {
	return x.outcomes[s].final()
}

// failure returns an error naming the first stage of a finished scope run
// that failed or was cancelled, or nil.
func (x *scopeRun) failure(ctx context.Context) error {
	for _, s := range x.sc.stages {
		switch st := x.outcomes[s].status; st {
		case StageFailed:
			return fmt.Errorf("stage %s failed", s.ID)
		case StageCancelled:
			if ctx.Err() != nil {
				return fmt.Errorf("%s", cancelReason(ctx))
			}
			return fmt.Errorf("stage %s was cancelled", s.ID)
		}
	}
	return nil
}

func statusOf(ctx context.Context) StageStatus {
	if ctx.Err() != nil {
		return StageCancelled
	}
	return StageFailed
}
