package sched

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// matrixRun is a matrix in progress: one copy of the body per branch, all
// at once (their stages share the --jobs slots). The matrix fails when any
// branch fails; the other branches still run to the end. Its metric is the
// number of branches; reports read each branch's results from the run
// record.
type matrixRun struct {
	sr       *scopeRun
	idx      int
	branches []pipeline.MatrixBranch
	runs     []*scopeRun
	rec      *pipeline.MatrixRecord
	left     int // branches not yet final
}

func (sr *scopeRun) startMatrix(i int) {
	s := sr.plan.stages[i]
	x := &matrixRun{sr: sr, idx: i, branches: s.MatrixBranches(), rec: &pipeline.MatrixRecord{Axes: s.MatrixAxes()}}
	x.left = len(x.branches)
	for b, br := range x.branches {
		vals := maps.Clone(sr.matrix)
		if vals == nil {
			vals = map[string]any{}
		}
		maps.Copy(vals, br.Values)
		scope := append(slices.Clip(sr.scope), "branch", br.Label)
		run := sr.m.newScopeRun(s.Body, sr, s, fmt.Sprintf("%s%s[%d]/", sr.prefix, s.ID, b), sr.iteration, nil, vals, scope)
		run.index = b
		x.runs = append(x.runs, run)
		x.rec.Branches = append(x.rec.Branches, &pipeline.BranchRecord{Index: b, Label: br.Label, Values: br.Values,
			Status: pipeline.StagePending, Stages: run.records})
	}
	sr.records[i].Matrix = x.rec
	sr.note(hclog.Info, i, "matrix started", "branches", len(x.branches))
	if x.left == 0 {
		x.end()
		return
	}
	for b, run := range x.runs {
		x.rec.Branches[b].Status = pipeline.StageRunning
		run.start(func() { x.branchDone(b) })
	}
}

// branchDone records a branch whose stages are all final.
func (x *matrixRun) branchDone(b int) {
	st := pipeline.StageSucceeded
	if x.runs[b].failure() != nil {
		st = x.sr.m.statusOf()
	}
	x.rec.Branches[b].Status = st
	if x.left--; x.left == 0 {
		x.end()
	}
}

// end makes the matrix final once every branch is.
func (x *matrixRun) end() {
	sr := x.sr
	var failed []string
	for b, run := range x.runs {
		if err := run.failure(); err != nil {
			failed = append(failed, fmt.Sprintf("branch %s: %v", x.branches[b].Label, err))
		}
	}
	if len(failed) > 0 {
		if sr.m.cancel != "" {
			sr.fail(x.idx, context.Canceled)
			return
		}
		sr.fail(x.idx, &innerFailure{msg: fmt.Sprintf("%d of %d branches failed; first: %s", len(failed), len(x.branches), failed[0])})
		return
	}
	sr.succeed(x.idx, &pipeline.Result{Metrics: pipeline.Metrics{pipeline.MetricBranches: float64(len(x.branches))}}, pipeline.StageSucceeded)
}
