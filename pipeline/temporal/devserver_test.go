package temporal

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
	"lopper/pipeline/temporal/temporaltest"
)

// e2eRecipe has a matrix of loops, a stage on the gpu queue, a gate and a
// volatile stage (which runs in the client's process).
const e2eRecipe = `version: 1
name: e2e
params: {k: 0.25}
stages:
  a: {uses: emit, with: {value: "${{ params.k }}", metrics: {n: 3}}}
  sweep:
    uses: matrix
    with: {step: [1, 2]}
    stages:
      l:
        uses: loop
        with: {max_iterations: 4, from: a, carry: s, until: "s.value > 3", keep: last}
        stages:
          s: {uses: emit, with: {input: prev, add: "${{ matrix.step }}", sleep: 20ms}}
      g: {uses: emit, runs_on: gpu, with: {input: l, add: 0.5}}
  gate: {uses: assert, with: {that: "a.n == 3"}}
  vol: {uses: emit, needs: [sweep], with: {volatile: true, metrics: {t: 1}}}
`

// A run on a real Temporal server (the dev server, 127.0.0.1), with two
// workers in this process (w2 also serving the gpu queue) and the
// client's own queue for the volatile stage, gives the record a local run
// gives: every stage's status, metrics and artifact digests.
func TestRunOnDevServer(t *testing.T) {
	c := runOnDevServer(t, Options{})
	if os.Getenv("LOPPER_RECORD_HISTORY") != "" {
		recordHistory(t, c, WorkflowRun, "", false, historyFile)
	}
}

// So does a run whose loop iterations and matrix branches are child
// workflows, each workflow continuing as new every two tasks.
func TestRunOnDevServerWithChildren(t *testing.T) {
	c := runOnDevServer(t, Options{ChildEvents: -1, HistoryEvents: 2 * eventsPerTask})
	// Two branches, each a child whose loop's iterations are children.
	if n := countWorkflows(t, c, WorkflowScope); n < 4 {
		t.Errorf("%d child workflows", n)
	}
	if n := countWorkflows(t, c, WorkflowRun); n < 2 {
		t.Errorf("the run workflow did not continue as new (%d runs)", n)
	}
	if os.Getenv("LOPPER_RECORD_HISTORY") != "" {
		recordHistory(t, c, WorkflowRun, "", true, childrenHistory)
		recordHistory(t, c, WorkflowRun, "", false, childrenLast)
		recordHistory(t, c, WorkflowScope, "/sweep[1]", true, childScopeHistory)
	}
}

// And so does a run whose payloads all go through the store (a threshold
// of 512 bytes): the client and each worker have a codec of their own, as
// separate processes would.
func TestRunOnDevServerWithLargePayloads(t *testing.T) {
	var store string
	runOnDevServer(t, Options{ChildEvents: -1, HistoryEvents: 2 * eventsPerTask, Payloads: &Payloads{Threshold: 512}}, &store)
	dir := strings.TrimPrefix(store, "file://")
	if n := countPayloads(t, dir); n < 4 {
		t.Errorf("%d payloads in the store", n)
	}
	// The run's log keeps them from gc; once the run is dropped, they go.
	cache, err := pipeline.OpenCacheURL(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	rep, err := cache.GC(pipeline.GCOptions{KeepLast: 1})
	if err != nil || rep.Transfers == 0 || rep.TransfersRemoved != 0 || rep.InputsRemoved != 0 {
		t.Fatalf("gc keeping the run: %+v %v", rep, err)
	}
	if rep, err = cache.GC(pipeline.GCOptions{KeepLast: 0}); err != nil || rep.TransfersRemoved != rep.Transfers {
		t.Fatalf("gc dropping the run: %+v %v", rep, err)
	}
	if n := countPayloads(t, dir); n != 0 {
		t.Errorf("%d payloads left after gc dropped their run", n)
	}
}

// withCodec returns a client of c's connection with p's data converter
// (nil: c).
func withCodec(t *testing.T, c client.Client, p *Payloads) client.Client {
	t.Helper()
	if p == nil {
		return c
	}
	pc, err := client.NewClientFromExisting(c, client.Options{DataConverter: p.DataConverter()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pc.Close()
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return pc
}

// runOnDevServer runs e2eRecipe on a dev server with o, compares it with a
// local run and returns the server's client; storeURL, when set, is told
// the run's store.
func runOnDevServer(t *testing.T, o Options, storeURL ...*string) client.Client {
	srv := temporaltest.DevServer(t)
	c := srv.Client()
	kit := pipelinetest.New()
	r := exectest.Load(t, kit, e2eRecipe)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	store := "file://" + t.TempDir()
	for _, s := range storeURL {
		*s = store
	}
	cache, err := pipeline.OpenCacheURL(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range []struct {
		id     string
		queues []string
	}{{"w1", nil}, {"w2", []string{"cpu", "gpu"}}} {
		acts := &Activities{Registry: r.Registry(), Build: "e2e", Numerics: "n", Identity: w.id, Log: exectest.Logger(t), WorkDir: t.TempDir()}
		wc := c
		if o.Payloads != nil {
			acts.Payloads = &Payloads{Threshold: o.Payloads.Threshold}
			wc = withCodec(t, c, acts.Payloads)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Serve(wctx, wc, WorkerOptions{Queues: w.queues, Jobs: 2, Activities: acts}); err != nil {
				t.Errorf("worker %s: %v", w.id, err)
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	opts := runner.Options{OutDir: t.TempDir(), Cache: cache, Build: "e2e", Numerics: "n", Logger: exectest.Logger(t), Jobs: 4}
	own := &Activities{Registry: r.Registry(), Build: "e2e", Numerics: "n", Identity: "client", Store: cache, Payloads: o.Payloads}
	o.ClientWorker, o.Heartbeat, o.RetryInterval, o.Poll = own, 2*time.Second, 100*time.Millisecond, 50*time.Millisecond
	rec, err := Run(ctx, withCodec(t, c, o.Payloads), r, opts, o)
	if err != nil || rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run on Temporal: %v %v %s", err, rec.Status, rec.Error)
	}
	local, err := runner.Run(ctx, r, runner.Options{OutDir: t.TempDir(), Build: "e2e", Numerics: "n", Logger: exectest.Logger(t)})
	if err != nil || local.Status != pipeline.RunSucceeded {
		t.Fatalf("local run: %v %v", err, local.Status)
	}
	n := 0
	local.Walk(func(want *pipeline.StageRecord) {
		n++
		got := exectest.Stage(t, rec, want.Path)
		if got.Status != want.Status || got.CacheKey != want.CacheKey || !sameJSON(got.Metrics, want.Metrics) || !sameJSON(got.Artifacts, want.Artifacts) {
			t.Errorf("%s: on Temporal %s %v %v key %s; locally %s %v %v key %s", want.Path, got.Status, got.Metrics, got.Artifacts, got.CacheKey,
				want.Status, want.Metrics, want.Artifacts, want.CacheKey)
		}
		switch {
		case want.Uses != "emit":
		case want.ID == "vol" && got.Worker != "client":
			t.Errorf("vol ran on %q, not in the client's process", got.Worker)
		case want.ID == "g" && got.Worker != "w2":
			t.Errorf("%s ran on %q, not on the gpu worker w2", want.Path, got.Worker)
		case got.Worker != "w1" && got.Worker != "w2" && want.ID != "vol":
			t.Errorf("%s ran on %q", want.Path, got.Worker)
		case got.Attempts != 1:
			t.Errorf("%s took %d attempts", want.Path, got.Attempts)
		}
	})
	if n < 10 {
		t.Errorf("only %d stages", n)
	}
	onDisk := exectest.ReadRecord(t, rec)
	if onDisk["status"] != "succeeded" || onDisk["store"] != store {
		t.Errorf("run.json: status %v store %v", onDisk["status"], onDisk["store"])
	}
	return c
}

// serveOne opens a store for a run and serves o (its activities' work
// directory a fresh one) on c for the rest of the test.
func serveOne(t *testing.T, c client.Client, o WorkerOptions) *pipeline.Cache {
	t.Helper()
	cache, err := pipeline.OpenCacheURL(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o.Activities.WorkDir = t.TempDir()
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(wctx, c, o) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		if err := cache.Close(); err != nil {
			t.Error(err)
		}
	})
	return cache
}

// sameJSON reports whether a and b encode alike (an empty map and none
// are both absent in run.json).
func sameJSON(a, b any) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	norm := func(j []byte) string {
		if s := string(j); s != "{}" {
			return s
		}
		return "null"
	}
	return erra == nil && errb == nil && norm(ja) == norm(jb)
}

// countWorkflows returns how many runs of workflows of type wfType the
// server holds.
func countWorkflows(t *testing.T, c client.Client, wfType string) int {
	list, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = '" + wfType + "'"})
	if err != nil {
		t.Fatalf("list the %s workflows: %v", wfType, err)
	}
	return len(list.Executions)
}

// Cancelling a run on a real server (Ctrl-C) cancels its workflow: the
// running stage learns it through its heartbeat and stops, the server
// waits for that (WaitForCancellation), and the run is recorded as
// interrupted within the grace period.
func TestCancelOnDevServer(t *testing.T) {
	srv := temporaltest.DevServer(t)
	c := srv.Client()
	kit := pipelinetest.New()
	r := exectest.Load(t, kit, `version: 1
stages:
  quick: {uses: emit, with: {value: 1}}
  stuck: {uses: emit, with: {input: quick, block: true}}
  later: {uses: emit, with: {input: stuck, add: 1}}
`)
	cache := serveOne(t, c, WorkerOptions{Jobs: 2, Activities: &Activities{Registry: r.Registry(), Build: "e2e-cancel", Numerics: "n", Identity: "w"}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for kit.Runs("stuck") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	rec, err := Run(ctx, c, r, runner.Options{OutDir: t.TempDir(), Cache: cache, Build: "e2e-cancel", Numerics: "n", Logger: exectest.Logger(t), Grace: 10 * time.Second},
		Options{Heartbeat: time.Second, Poll: 50 * time.Millisecond})
	if err != nil || rec.Status != pipeline.RunInterrupted {
		t.Fatalf("run: %v %v %s", err, rec.Status, rec.Error)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the cancelled run took %v", d)
	}
	for p, want := range map[string]pipeline.StageStatus{"quick": pipeline.StageSucceeded, "stuck": pipeline.StageCancelled, "later": pipeline.StageCancelled} {
		if s := exectest.Stage(t, rec, p); s.Status != want || (want == pipeline.StageCancelled && s.Reason != "interrupted") {
			t.Errorf("%s: %s (%s), want %s", p, s.Status, s.Reason, want)
		}
	}
	if kit.Runs("later") != 0 {
		t.Errorf("later ran")
	}
}
