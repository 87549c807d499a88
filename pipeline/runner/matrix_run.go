package pipeline

import (
	"context"
	"fmt"
	"maps"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"
)

// runMatrix runs one copy of the body per branch, all concurrently (their
// stages share the --jobs slots). The matrix fails when any branch fails;
// the other branches still run to the end. Its metric is the number of
// branches; reports read each branch's results from the run record.
func (x *scopeRun) runMatrix(ctx context.Context, s *Stage, rec *StageRecord, log hclog.Logger) (*Result, error) {
	branches := s.matrix.branches()
	mr := &MatrixRecord{Axes: s.matrix.axisNames()}
	runs := make([]*scopeRun, len(branches))
	for i, b := range branches {
		vals := maps.Clone(x.matrix)
		if vals == nil {
			vals = map[string]any{}
		}
		maps.Copy(vals, b.values)
		runs[i] = x.rs.newScopeRun(s.body, x, fmt.Sprintf("%s%s[%d]/", x.prefix, s.ID, i), x.iteration, nil, vals)
		runs[i].log = x.log.With("branch", b.label)
		mr.Branches = append(mr.Branches, &BranchRecord{Index: i, Label: b.label, Values: b.values, Status: StagePending, Stages: runs[i].records})
	}
	x.rs.rec.update(func() { rec.Matrix = mr })
	log.Info("matrix started", "branches", len(branches))
	var g errgroup.Group
	for i, run := range runs {
		g.Go(func() error {
			x.rs.rec.update(func() { mr.Branches[i].Status = StageRunning })
			run.exec(ctx)
			st := StageSucceeded
			if err := run.failure(ctx); err != nil {
				st = statusOf(ctx)
			}
			x.rs.rec.update(func() { mr.Branches[i].Status = st })
			return nil
		})
	}
	g.Wait() // branches report through their records, never errors
	var failed []string
	for i, run := range runs {
		if err := run.failure(ctx); err != nil {
			failed = append(failed, fmt.Sprintf("branch %s: %v", branches[i].label, err))
		}
	}
	if len(failed) > 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &innerFailure{msg: fmt.Sprintf("%d of %d branches failed; first: %s", len(failed), len(branches), failed[0])}
	}
	return &Result{Metrics: Metrics{MetricBranches: float64(len(branches))}}, nil
}
