package temporal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// Options configure a run on Temporal (Run), besides runner.Options.
type Options struct {
	// Store is the store artifacts travel through; nil means the run's
	// cache (runner.Options.Cache). Workers must reach the same store.
	Store *pipeline.Cache
	// WorkDir is the working directory relative --set paths were
	// resolved against.
	WorkDir string
	// Poll is how often the run's progress is asked for; 0 means 500ms.
	Poll time.Duration
	// ProgressPoll is how often the running stages' heartbeats are asked
	// for, to show their progress; 0 means DefaultProgressPoll.
	ProgressPoll time.Duration
	// Heartbeat, StageTimeout, Attempts and RetryInterval set the Plan's
	// (0: its defaults).
	Heartbeat     time.Duration
	StageTimeout  time.Duration
	Attempts      int
	RetryInterval time.Duration
	// ChildEvents and HistoryEvents set the Plan's (0: its defaults):
	// when loops and matrices run as child workflows, and when a
	// workflow continues as new.
	ChildEvents   int
	HistoryEvents int
	// ClientWorker serves this process's own queue (Queues.Client), where
	// volatile stages without runs_on run, with these activities (Run
	// sets their Client); nil sends them to the default queue.
	ClientWorker *Activities
	// Payloads, when set, is the codec of the client's data converter:
	// the run's large payloads go to Store (see Payloads).
	Payloads *Payloads
}

// Run runs a loaded recipe on Temporal through c, as runner.Run runs it
// here: the run directory, run.json, the lockfile and the outcome are
// written here by the same code (runner.RunWith), while one run workflow
// (WorkflowRun, on the workflow queue of opts.Build's workers) schedules
// the stages as activities on the workers' queues. Progress lines and
// stage records follow the workflow as it goes. Cancelling ctx (Ctrl-C)
// cancels the workflow; stages then get opts.Grace to stop.
func Run(ctx context.Context, c client.Client, r *pipeline.Recipe, opts runner.Options, o Options) (*pipeline.RunRecord, error) {
	if o.Store == nil {
		o.Store = opts.Cache
	}
	if o.Store == nil {
		return nil, errors.New("a run on Temporal needs a store that its workers share (--store URL)")
	}
	if o.ClientWorker != nil {
		o.ClientWorker.Client = true
	}
	queues := QueuesOf(opts.Build)
	drive := func(ctx context.Context, e *runner.Execution) (bool, error) {
		id := workflowID(e)
		o.Payloads.bind(id, o.Store.URL(), o.Store)
		var w worker.Worker
		if o.ClientWorker != nil {
			queues.Client = queues.Named("run." + id)
			w = worker.New(c, queues.Client, worker.Options{MaxConcurrentActivityExecutionSize: max(e.Options().Jobs, 1)})
			w.RegisterActivityWithOptions(o.ClientWorker.Stage, activity.RegisterOptions{Name: ActivityStage})
			if err := w.Start(); err != nil {
				return false, fmt.Errorf("this process's worker: %w", err)
			}
			defer w.Stop()
		}
		plan := planOf(e, o, queues)
		f := o.follow(o.Store)
		if o.Store == opts.Cache { // the run's log is in the store: it keeps what the run puts there
			f.keep = e.CacheRun()
		}
		var err error
		if plan.Recipe.Inputs, err = UploadInputs(ctx, e.Recipe(), o.Store, f.keep, e.Logger()); err != nil {
			return false, err
		}
		return drive(ctx, e, &serverEngine{c: c, queue: queues.Workflow()}, id, plan, f)
	}
	return runner.RunWith(ctx, r, opts, drive)
}

// following says how drive follows a run: how often it asks for the
// run's notes and its stages' heartbeats, which worker it leaves out (this
// process's own: its stages log their progress and write the run
// directory here themselves), and the store where the files that stages
// wrote on workers are.
type following struct {
	notes, progress time.Duration
	own             string
	store           *pipeline.Cache
	// keep, when set, is the run's log in the store, which keeps the
	// run's transfer directories from gc.
	keep *pipeline.CacheRun
}

func (o Options) follow(store *pipeline.Cache) following {
	f := following{notes: o.Poll, progress: o.ProgressPoll, store: store}
	if o.ClientWorker != nil {
		f.own = o.ClientWorker.Identity
	}
	return f
}

// workflowID names a run's workflow: its run directory and a nonce (a
// resumed run is a new workflow).
func workflowID(e *runner.Execution) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail
	}
	return "lopper/" + filepath.Base(e.RunDir()) + "/" + hex.EncodeToString(b[:])
}

// planOf is the plan of a run.
func planOf(e *runner.Execution, o Options, q Queues) *Plan {
	opts := e.Options()
	p := &Plan{
		RunDir: e.RunDir(), Paths: e.Paths(), Jobs: opts.Jobs, FailFast: opts.FailFast, Grace: opts.Grace,
		Store: o.Store.URL(), Cache: opts.Cache != nil, Queues: q,
		Heartbeat: o.Heartbeat, StageTimeout: o.StageTimeout, Attempts: o.Attempts, RetryInterval: o.RetryInterval,
		ChildEvents: o.ChildEvents, HistoryEvents: o.HistoryEvents,
	}
	p.Recipe = RecipeSource{File: e.Recipe().Path, WorkDir: o.WorkDir}
	p.withDefaults()
	return p
}

// engine starts a run's workflow and follows it: a Temporal server
// (serverEngine), or the SDK's test environment in tests.
type engine interface {
	start(ctx context.Context, id string, plan *Plan) error
	// progress returns the notes from index from and the stages unless
	// still at version; nil when the engine cannot tell.
	progress(ctx context.Context, from, version int) (*Progress, error)
	// heartbeats returns the running stages' last heartbeats; nil when
	// the engine cannot tell.
	heartbeats(ctx context.Context) ([]Heartbeat, error)
	cancel(ctx context.Context) error
	// result waits for the workflow's result.
	result(ctx context.Context) (*Result, error)
	terminate(ctx context.Context, reason string) error
}

// graceMargin is how much longer than the grace period the client waits
// for a cancelled workflow, which itself waits the grace period.
const graceMargin = 5 * time.Second

// drive runs the execution's stages through the workflow of eng: it starts
// it, prints its notes as log lines and copies its stage records into the
// run record as they change, cancels it when ctx is done, and ends with its
// result. The files that stages wrote on workers it fetches into the run
// directory as they finish. Every poll.progress it logs the running stages' heartbeated
// progress as a local run logs it. A workflow still going GraceMargin after the grace period that
// followed a cancellation (graceMargin) is terminated and its stages abandoned.
func drive(ctx context.Context, e *runner.Execution, eng engine, id string, plan *Plan, poll following) (abandoned bool, err error) {
	header := e.Record()
	header.Stages = nil
	if plan.Recipe.Header, err = json.Marshal(header); err != nil {
		return false, err
	}
	plan.Interrupted = ctx.Err() != nil
	if poll.keep != nil { // before anything is put there
		poll.keep.KeepTransfers(runKey(plan.Recipe.Header))
		poll.keep.KeepTransfers(id)
	}
	bg := context.WithoutCancel(ctx)
	log := e.Logger()
	if err := eng.start(bg, id, plan); err != nil {
		return false, fmt.Errorf("cannot start the run's workflow: %w", err)
	}
	log.Info("workflow started", "workflow_id", id, "queue", plan.Queues.Workflow())
	type ended struct {
		res *Result
		err error
	}
	results := make(chan ended, 1)
	go func() {
		res, err := eng.result(bg)
		results <- ended{res, err}
	}()
	if poll.notes <= 0 {
		poll.notes = 500 * time.Millisecond
	}
	if poll.progress <= 0 {
		poll.progress = DefaultProgressPoll
	}
	ticker := time.NewTicker(poll.notes)
	defer ticker.Stop()
	beats := time.NewTicker(poll.progress)
	defer beats.Stop()
	shown := newProgressLog(log, poll.own)
	var files *workFetcher
	if poll.store != nil {
		files = &workFetcher{cache: poll.store, run: runKey(plan.Recipe.Header), runDir: e.RunDir(), own: poll.own, done: map[string]bool{}, log: log}
	}
	next, version := 0, -1
	follow := func() {
		p, err := eng.progress(bg, next, version)
		if err != nil {
			log.Debug("cannot query the run's progress", "error", err)
			return
		}
		if p == nil {
			return
		}
		for _, n := range p.Notes {
			n.Log(log)
		}
		next = p.Next
		if p.Stages != nil {
			version = p.Version
			e.Update(func(rec *pipeline.RunRecord) { rec.Stages = p.Stages })
			files.fetch(bg, p.Stages)
		}
	}
	interrupt := ctx.Done()
	var grace <-chan time.Time
	if plan.Interrupted { // the workflow knows; there is nothing to cancel
		interrupt, grace = nil, time.After(plan.Grace+graceMargin)
	}
	for {
		select {
		case r := <-results:
			if r.err != nil {
				return false, fmt.Errorf("the run's workflow %s: %w", id, r.err)
			}
			follow()
			e.Update(func(rec *pipeline.RunRecord) { rec.Stages = r.res.Stages })
			files.fetch(bg, r.res.Stages)
			useCache(e, r.res.Stages)
			return r.res.Abandoned, nil
		case <-ticker.C:
			follow()
		case <-beats.C:
			hbs, err := eng.heartbeats(bg)
			if err != nil {
				log.Debug("cannot read the stages' heartbeats", "error", err)
			}
			shown.show(hbs)
		case <-interrupt:
			interrupt = nil
			grace = time.After(plan.Grace + graceMargin)
			if err := eng.cancel(bg); err != nil {
				log.Warn("cannot cancel the run's workflow", "workflow_id", id, "error", err)
			}
		case <-grace:
			log.Warn("the run's workflow did not end after cancellation; terminating it", "workflow_id", id)
			if err := eng.terminate(bg, "lopper run was interrupted and its stages did not stop"); err != nil {
				log.Warn("cannot terminate the run's workflow", "workflow_id", id, "error", err)
			}
			return true, nil
		}
	}
}

// useCache logs the cache entries the run's stages used.
func useCache(e *runner.Execution, stages []*pipeline.StageRecord) {
	rec := &pipeline.RunRecord{Stages: stages}
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.CacheKey != "" && (s.Status == pipeline.StageSucceeded || s.Status == pipeline.StageCached) {
			e.UseCache(s.CacheKey)
		}
	})
}

// serverEngine runs workflows on a Temporal server. It asks, cancels and
// terminates the workflow's latest run ("" run id): a workflow that
// continued as new goes on in another.
type serverEngine struct {
	c     client.Client
	queue string
	run   client.WorkflowRun
}

func (s *serverEngine) start(ctx context.Context, id string, plan *Plan) error {
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.queue}, WorkflowRun, plan)
	s.run = run
	return err
}

func (s *serverEngine) progress(ctx context.Context, from, version int) (*Progress, error) {
	v, err := s.c.QueryWorkflow(ctx, s.run.GetID(), "", QueryProgress, from, version)
	if err != nil {
		return nil, err
	}
	var p Progress
	if err := v.Get(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *serverEngine) cancel(ctx context.Context) error {
	return s.c.CancelWorkflow(ctx, s.run.GetID(), "")
}

func (s *serverEngine) result(ctx context.Context) (*Result, error) {
	var res Result
	if err := s.run.Get(ctx, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *serverEngine) terminate(ctx context.Context, reason string) error {
	return s.c.TerminateWorkflow(ctx, s.run.GetID(), "", reason)
}

// hclogAdapter lets the SDK log through hclog.
type hclogAdapter struct{ l hclog.Logger }

// NewLogger returns a Temporal SDK logger (client.Options.Logger) writing
// to l: the SDK's debug and info messages at trace and debug level (they
// are about its own machinery), its warnings and errors as such.
func NewLogger(l hclog.Logger) log.Logger { return hclogAdapter{l.Named("temporal")} }

func (a hclogAdapter) Debug(msg string, kv ...any) { a.l.Trace(msg, kv...) }
func (a hclogAdapter) Info(msg string, kv ...any)  { a.l.Debug(msg, kv...) }
func (a hclogAdapter) Warn(msg string, kv ...any)  { a.l.Warn(msg, kv...) }
func (a hclogAdapter) Error(msg string, kv ...any) { a.l.Error(msg, kv...) }
