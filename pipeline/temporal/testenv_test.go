package temporal

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// testEngine runs a run's workflow in the SDK's test environment: the
// workflow and its activities in this process, no server. It cannot be
// queried while the workflow runs (the environment is not safe for that),
// so the record follows only the final result.
type testEngine struct {
	newEnv  func() *testsuite.TestWorkflowEnvironment
	done    chan struct{}
	started chan struct{} // closed once the workflow function runs
	plan    *Plan
	dc      converter.DataConverter // the environments' (nil: the default)
	mu      sync.Mutex
	env     *testsuite.TestWorkflowEnvironment // the workflow's current run
	runs    int                                // runs of the workflow (continue-as-new starts another)
	err     error
}

// start runs the workflow in an environment, and each run it continues
// as new with in a fresh one (the environment does not follow a
// continue-as-new of the workflow it runs).
func (e *testEngine) start(_ context.Context, _ string, plan *Plan) error {
	e.done, e.plan = make(chan struct{}), plan
	go func() {
		defer close(e.done)
		p := *plan
		for {
			env := e.newEnv()
			e.mu.Lock()
			e.env = env
			e.runs++
			e.mu.Unlock()
			env.ExecuteWorkflow(WorkflowRun, p)
			var can *workflow.ContinueAsNewError
			if err := env.GetWorkflowError(); !errors.As(err, &can) {
				return
			}
			p = Plan{}
			dc := e.dc
			if dc == nil {
				dc = converter.GetDefaultDataConverter()
			}
			if err := dc.FromPayloads(can.Input, &p); err != nil {
				e.mu.Lock()
				e.err = err
				e.mu.Unlock()
				return
			}
		}
	}()
	return nil
}

func (e *testEngine) current() *testsuite.TestWorkflowEnvironment {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.env
}

func (e *testEngine) progress(context.Context, int, int) (*Progress, error) { return nil, nil }

func (e *testEngine) heartbeats(context.Context) ([]Heartbeat, error) { return nil, nil }

// cancel cancels the workflow once it runs: the environment cannot
// cancel a workflow that has not registered its cancellation handler.
func (e *testEngine) cancel(context.Context) error {
	select {
	case <-e.started:
	case <-e.done:
		return nil
	}
	e.current().CancelWorkflow()
	return nil
}

func (e *testEngine) result(ctx context.Context) (*Result, error) {
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	env := e.current()
	if err := env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (e *testEngine) terminate(context.Context, string) error { return nil }

// testExecutor is the Temporal executor over the SDK's test environment:
// an exectest.Executor. Each run gets a fresh environment whose workers
// share the run's cache (or, without one, a store of their own for the
// artifacts to travel through).
type testExecutor struct {
	t *testing.T
	// setup, when set, adjusts the environment and the activities before
	// the run (mocks, listeners).
	setup func(env *testsuite.TestWorkflowEnvironment, acts *Activities)
	// plan, when set, adjusts the plan.
	plan func(*Plan)
	// payloads, when set, is the environments' payload codec (its Store
	// the run's store).
	payloads *Payloads
	// wrap, when set, wraps the stage activity (to lose a worker).
	wrap func(next stageActivity) stageActivity
	// last is the last run's environment, for assertions on it; runs how
	// many runs its workflow took (a continue-as-new starts one more).
	mu   sync.Mutex
	last *testsuite.TestWorkflowEnvironment
	runs int
}

// stageActivity is the stage activity's signature.
type stageActivity func(ctx context.Context, at *ActivityTask) (*runner.StageOutcome, error)

func (x *testExecutor) Run(ctx context.Context, r *pipeline.Recipe, opts runner.Options) (*pipeline.RunRecord, error) {
	store := opts.Cache
	if store == nil {
		var err error
		if store, err = pipeline.OpenCache(filepath.Join(x.t.TempDir(), "store")); err != nil {
			return nil, err
		}
	}
	acts := &Activities{Registry: r.Registry(), Build: opts.Build, Numerics: opts.Numerics, Identity: "test-worker", Log: opts.Logger, Store: store, WorkDir: x.t.TempDir()}
	eng := &testEngine{started: make(chan struct{})}
	var once sync.Once
	wf := &Workflows{Registry: r.Registry()}
	if x.payloads != nil {
		x.payloads.Store = store
		acts.Payloads, wf.Payloads, eng.dc = x.payloads, x.payloads, x.payloads.DataConverter()
	}
	var stage stageActivity = acts.Stage
	if x.wrap != nil {
		stage = x.wrap(stage)
	}
	eng.newEnv = func() *testsuite.TestWorkflowEnvironment {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.SetTestTimeout(2 * time.Minute)
		if eng.dc != nil {
			env.SetDataConverter(eng.dc)
		}
		env.RegisterWorkflowWithOptions(func(ctx workflow.Context, plan Plan) (*Result, error) {
			once.Do(func() { close(eng.started) })
			return wf.Run(ctx, plan)
		}, workflow.RegisterOptions{Name: WorkflowRun})
		env.RegisterWorkflowWithOptions(wf.Scope, workflow.RegisterOptions{Name: WorkflowScope})
		// The environment gives a child workflow's activities no heartbeat
		// timeout, so they never learn of a cancellation from a heartbeat:
		// it is delivered through the cancellation listener instead.
		var mu sync.Mutex
		cancels := map[string]context.CancelFunc{}
		key := func(info *activity.Info) string { return info.WorkflowExecution.RunID + "#" + info.ActivityID }
		env.SetOnActivityCanceledListener(func(info *activity.Info) {
			mu.Lock()
			defer mu.Unlock()
			if cancel, ok := cancels[key(info)]; ok {
				cancel()
			}
		})
		env.RegisterActivityWithOptions(func(ctx context.Context, at *ActivityTask) (*runner.StageOutcome, error) {
			info := activity.GetInfo(ctx)
			ctx, cancel := context.WithCancel(ctx)
			mu.Lock()
			cancels[key(&info)] = cancel
			mu.Unlock()
			defer func() {
				mu.Lock()
				delete(cancels, key(&info))
				mu.Unlock()
				cancelled := ctx.Err() != nil
				cancel()
				if !cancelled {
					// Only a cancelled stage's end is awaited (StopSignals);
					// and the environment's workflow table is not safe to
					// read from here while workflows start children.
					return
				}
				// The end goes to the workflow that ran the stage (a
				// child's task ids are its own).
				if err := env.SignalWorkflowByID(info.WorkflowExecution.ID, SignalStopped, at.ID); err != nil {
					x.t.Logf("signal the end of %s: %v", at.Task.Path, err) // its workflow ended (abandoned it)
				}
			}()
			return stage(ctx, at)
		}, activity.RegisterOptions{Name: ActivityStage})
		if x.setup != nil {
			x.setup(env, acts)
		}
		x.mu.Lock()
		x.last = env
		x.mu.Unlock()
		return env
	}
	drive := func(ctx context.Context, e *runner.Execution) (bool, error) {
		// A heartbeat timeout well above the machine's hiccups (a test of
		// lost workers sets its own).
		plan := planOf(e, Options{Store: store, Heartbeat: 5 * time.Second, RetryInterval: 10 * time.Millisecond}, QueuesOf(opts.Build))
		plan.StopSignals = true
		if x.plan != nil {
			x.plan(plan)
		}
		var err error
		if plan.Recipe.Inputs, err = UploadInputs(ctx, e.Recipe(), store, nil, e.Logger()); err != nil {
			return false, err
		}
		if plan.ChildEvents < 0 {
			// A child workflow's activities see no heartbeat timeout in the
			// environment, so they do not heartbeat while it enforces one.
			plan.Heartbeat = time.Minute
		}
		return drive(ctx, e, eng, "lopper/test", plan, following{store: store})
	}
	rec, err := runner.RunWith(ctx, r, opts, drive)
	eng.mu.Lock()
	runs := eng.runs
	eng.mu.Unlock()
	x.mu.Lock()
	x.runs = runs
	x.mu.Unlock()
	return rec, err
}
