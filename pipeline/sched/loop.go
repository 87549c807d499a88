package sched

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// loopRun is a loop in progress: its body runs up to max_iterations times,
// until is checked after each iteration, and the kept iteration's result
// becomes the loop's: the carry stage's metrics and artifacts, the measure
// stage's metrics (which win on a name clash), and the metrics iterations
// and kept_iteration.
//
// keep: last keeps the last iteration run. keep: last_passing keeps the
// last iteration whose until was false; when until is already true in
// iteration 0, no iteration passed and the loop fails (it does not fall back
// to its from input, which would hand on an unprocessed result as if it
// were one).
//
// The loop holds the carry of the iterations it may still keep or hand on
// as prev: the last finished one and, under last_passing, the one before
// it stays until the next iteration ends. It lets go of every carry but
// the kept one when it stops (see lifetime.go).
type loopRun struct {
	sr   *scopeRun // the loop's scope
	idx  int       // the loop stage in it
	plan *pipeline.LoopPlan
	rec  *pipeline.LoopRecord
	prev *pipeline.Result
	done []iteration
	body *scopeRun // the iteration in progress
	it   *pipeline.IterationRecord
}

type iteration struct {
	carry, measure *pipeline.Result
	body           *scopeRun
}

func (sr *scopeRun) startLoop(i int) {
	s := sr.plan.stages[i]
	l := &loopRun{sr: sr, idx: i, plan: s.Loop()}
	l.rec = &pipeline.LoopRecord{MaxIterations: l.plan.MaxIterations, Keep: l.plan.Keep}
	if l.plan.Until != nil {
		l.rec.Until = l.plan.Until.Source
	}
	sr.records[i].Loop = l.rec
	if l.plan.From != nil {
		var ok bool
		if l.prev, ok = sr.lookup(l.plan.From.ID); !ok { // from is a dependency: it succeeded
			sr.fail(i, fmt.Errorf("internal error: the from stage %s has no result", l.plan.From.ID))
			return
		}
	}
	l.next()
}

// next starts the next iteration.
func (l *loopRun) next() {
	sr, s, i := l.sr, l.sr.plan.stages[l.idx], len(l.done)
	scope := append(slices.Clip(sr.scope), "iteration", i)
	l.body = sr.m.newScopeRun(s.Body, sr, s, fmt.Sprintf("%s%s[%d]/", sr.prefix, s.ID, i), i, l.prev, sr.matrix, scope)
	l.body.index = i
	l.body.states[l.body.plan.byID[l.plan.Carry.ID]].held = true
	l.it = &pipeline.IterationRecord{Index: i, Status: pipeline.StageRunning, Stages: l.body.records}
	l.rec.Iterations = append(l.rec.Iterations, l.it)
	sr.note(hclog.Info, l.idx, "iteration started", "iteration", i)
	l.body.start(l.iterationDone)
}

// iterationDone decides, once every stage of the iteration is final,
// whether the loop goes on.
func (l *loopRun) iterationDone() {
	sr, i, body := l.sr, len(l.done), l.body
	// The iteration's stages are final: its prev is read no more.
	body.prev = stripped(body.prev)
	if err := body.failure(); err != nil {
		l.letGo(body)
		l.it.Status = sr.m.statusOf()
		sr.fail(l.idx, &innerFailure{msg: fmt.Sprintf("iteration %d: %v", i, err)})
		return
	}
	carry, ok := body.lookup(l.plan.Carry.ID)
	if !ok {
		l.it.Status = pipeline.StageFailed
		l.letGo(body)
		sr.fail(l.idx, fmt.Errorf("iteration %d: the carry stage %s was skipped, so the iteration has no result", i, l.plan.Carry.ID))
		return
	}
	it := iteration{carry: carry, body: body}
	if l.plan.Measure != nil {
		if it.measure, ok = body.lookup(l.plan.Measure.ID); !ok {
			l.it.Status = pipeline.StageFailed
			l.letGo(body)
			sr.fail(l.idx, fmt.Errorf("iteration %d: the measure stage %s was skipped", i, l.plan.Measure.ID))
			return
		}
	}
	l.done = append(l.done, it)
	var until bool
	if l.plan.Until != nil {
		vals := body.values()
		if it.measure != nil {
			for _, h := range []string{pipeline.MetricAccDrop, pipeline.MetricPplRatio} {
				if v, ok := it.measure.Metrics[h]; ok {
					vals[h] = v
				}
			}
		}
		var err error
		if until, err = l.plan.Until.EvalBool(vals); err != nil {
			l.it.Status = pipeline.StageFailed
			l.letGo(nil)
			sr.fail(l.idx, fmt.Errorf("iteration %d: %w", i, err))
			return
		}
	}
	l.it.Status, l.it.Until = pipeline.StageSucceeded, &until
	switch {
	case until:
		kept := i
		if l.plan.Keep == pipeline.KeepLastPassing {
			kept = i - 1
		}
		l.stop(fmt.Sprintf("until became true after iteration %d: %s", i, l.plan.Until.Source), kept)
	case len(l.done) == l.plan.MaxIterations:
		l.stop(fmt.Sprintf("reached max_iterations (%d)", l.plan.MaxIterations), len(l.done)-1)
	default:
		// Iteration i-1 can no longer be kept: at the end of iteration
		// i+1 the loop keeps i or i+1.
		if i > 0 {
			l.forget(i - 1)
		}
		l.prev = carry
		l.next()
	}
}

// forget lets go of iteration k's carry: its metrics stay.
func (l *loopRun) forget(k int) {
	it := &l.done[k]
	it.carry, it.measure = stripped(it.carry), stripped(it.measure)
	if it.body != nil {
		c := it.body.plan.byID[l.plan.Carry.ID]
		it.body.states[c].held = false
		it.body.maybeRelease(c)
		it.body = nil
	}
}

// letGo lets go of every carry the loop holds, and of the carry of body
// (an iteration that ended without being recorded as done; nil for none),
// once the loop ends. The kept carry's artifacts live on in the loop's
// result.
func (l *loopRun) letGo(body *scopeRun) {
	for k := range l.done {
		l.forget(k)
	}
	if body != nil {
		c := body.plan.byID[l.plan.Carry.ID]
		body.states[c].held = false
		body.maybeRelease(c)
	}
	l.prev = nil
}

// stop ends the loop, keeping iteration kept (none when < 0).
func (l *loopRun) stop(reason string, kept int) {
	sr := l.sr
	if kept < 0 {
		l.rec.StopReason = reason
		l.letGo(nil)
		sr.fail(l.idx, fmt.Errorf("no iteration passed: %s, and keep is %s", reason, l.plan.Keep))
		return
	}
	l.rec.StopReason, l.rec.Kept = reason, &kept
	sr.note(hclog.Info, l.idx, "loop stopped", "reason", reason, "kept_iteration", kept)
	k := l.done[kept]
	res := &pipeline.Result{Metrics: maps.Clone(k.carry.Metrics), Artifacts: maps.Clone(k.carry.Artifacts)}
	if res.Metrics == nil {
		res.Metrics = pipeline.Metrics{}
	}
	if k.measure != nil {
		maps.Copy(res.Metrics, k.measure.Metrics)
	}
	// The kept iteration's derived metrics are recomputed for the loop.
	delete(res.Metrics, pipeline.MetricAccDrop)
	delete(res.Metrics, pipeline.MetricPplRatio)
	res.Metrics[pipeline.MetricIterations] = float64(len(l.done))
	res.Metrics[pipeline.MetricKeptIteration] = float64(kept)
	l.letGo(nil)
	sr.succeed(l.idx, res, pipeline.StageSucceeded)
}
