package temporal

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkerOptions configure Serve.
type WorkerOptions struct {
	// Queues are the names of the queues whose stages the worker runs
	// (runs_on); none means DefaultQueue.
	Queues []string
	// Jobs bounds the stages the worker runs at once on each queue
	// (≥ 1).
	Jobs int
	// Activities run the stages; their Build names the queues.
	Activities *Activities
}

// Serve runs a worker until ctx is done: run workflows on the workflow
// queue of its build, and stages on each of its queues. A stage running
// when the worker stops is retried by another worker.
func Serve(ctx context.Context, c client.Client, o WorkerOptions) error {
	a := o.Activities
	if a.Log != nil {
		a.TrimWorkDir(a.Log)
	} else {
		a.TrimWorkDir(hclog.NewNullLogger())
	}
	q := QueuesOf(a.Build)
	names := o.Queues
	if len(names) == 0 {
		names = []string{DefaultQueue}
	}
	wf := worker.New(c, q.Workflow(), worker.Options{Identity: a.Identity})
	wfs := &Workflows{Registry: a.Registry, Payloads: a.Payloads}
	wf.RegisterWorkflowWithOptions(wfs.Run, workflow.RegisterOptions{Name: WorkflowRun})
	wf.RegisterWorkflowWithOptions(wfs.Scope, workflow.RegisterOptions{Name: WorkflowScope})
	workers := []worker.Worker{wf}
	for _, name := range names {
		w := worker.New(c, q.Named(name), worker.Options{Identity: a.Identity, MaxConcurrentActivityExecutionSize: max(o.Jobs, 1)})
		w.RegisterActivityWithOptions(a.Stage, activity.RegisterOptions{Name: ActivityStage})
		workers = append(workers, w)
	}
	var started []worker.Worker
	var err error
	for _, w := range workers {
		if err = w.Start(); err != nil {
			err = fmt.Errorf("start worker: %w", err)
			break
		}
		started = append(started, w)
	}
	if err == nil {
		<-ctx.Done()
	}
	for _, w := range started {
		w.Stop()
	}
	return errors.Join(err, a.Close())
}
