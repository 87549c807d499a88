package temporal

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.temporal.io/sdk/converter"

	"lopper/pipeline"
)

// DefaultProgressPoll is how often `lopper run --temporal` asks the server
// for its stages' heartbeats (Options.ProgressPoll).
const DefaultProgressPoll = 2 * time.Second

// heartbeats returns the heartbeats of the run's running stages: the
// pending activities' last heartbeat details, as the server holds them,
// of the run's workflow and of its child workflows.
//
// They are read with DescribeWorkflow rather than a workflow
// query: heartbeats never reach the workflow (they are not events of its
// history), and a describe is a read of the server's state that runs no
// workflow code on a worker.
func (s *serverEngine) heartbeats(ctx context.Context) ([]Heartbeat, error) {
	var out []Heartbeat
	type execution struct{ id, run string }
	todo := []execution{{s.run.GetID(), s.run.GetRunID()}}
	for len(todo) > 0 && len(todo) <= 1000 {
		ex := todo[0]
		todo = todo[1:]
		desc, err := s.c.DescribeWorkflow(ctx, ex.id, ex.run)
		if err != nil {
			if ex.id == s.run.GetID() {
				return nil, err
			}
			continue // a child that ended meanwhile
		}
		d := desc.RawResponse
		for _, a := range d.GetPendingActivities() {
			if a.GetHeartbeatDetails() == nil {
				continue
			}
			var hb Heartbeat
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetHeartbeatDetails(), &hb); err != nil {
				return nil, fmt.Errorf("activity %s's heartbeat: %w", a.GetActivityId(), err)
			}
			out = append(out, hb)
		}
		for _, c := range d.GetPendingChildren() {
			todo = append(todo, execution{c.GetWorkflowId(), c.GetRunId()})
		}
	}
	return out, nil
}

// progressLog logs the stages' heartbeated progress as the local executor
// logs StageContext.Progress: "progress" under the stage's name with its
// scope, done, total, unit and percent; at info level when first seen,
// when done, and at most every 10 seconds, else at debug level. A
// heartbeat that shows nothing new is not logged again.
type progressLog struct {
	log  hclog.Logger
	skip string // the worker whose stages log their own progress here
	last map[string]progressSeen
	now  func() time.Time
}

type progressSeen struct {
	hb   Heartbeat
	info time.Time
}

func newProgressLog(log hclog.Logger, skip string) *progressLog {
	return &progressLog{log: log, skip: skip, last: map[string]progressSeen{}, now: time.Now}
}

func (p *progressLog) show(beats []Heartbeat) {
	for _, hb := range beats {
		if hb.Path == "" || hb.Unit == "" || (p.skip != "" && hb.Worker == p.skip) {
			continue
		}
		seen, ok := p.last[hb.Path]
		if ok && seen.hb.Done == hb.Done && seen.hb.Total == hb.Total && seen.hb.Unit == hb.Unit && seen.hb.Attempt == hb.Attempt {
			continue
		}
		args := append(pipeline.ProgressArgs(hb.Done, hb.Total, hb.Unit), "worker", hb.Worker)
		l := p.log.With(hb.Scope...).Named(hb.Stage)
		now := p.now()
		if !ok || hb.Done >= hb.Total || now.Sub(seen.info) >= pipeline.ProgressInfoEvery {
			l.Info("progress", args...)
			seen.info = now
		} else {
			l.Debug("progress", args...)
		}
		seen.hb = hb
		p.last[hb.Path] = seen
	}
}
