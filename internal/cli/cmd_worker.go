package cli

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"go.temporal.io/sdk/client"

	"lopper/model/tensor"
	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/temporal"
)

// workerCommand is `lopper worker`.
func workerCommand() command {
	return command{
		name:    "worker",
		args:    "--temporal HOST:PORT [--namespace NS] [--queue NAME]... [--store URL] [--jobs N] [--identity NAME] [--work-dir DIR] [--work-dir-max SIZE]",
		summary: "serve recipe runs on Temporal: the run workflow and the stages of its queues",
		help: "Runs until interrupted. Runs started with `lopper run --temporal` by the same build of lopper\n" +
			"are driven here, and their stages whose queue (runs_on, default cpu) is one of --queue run here.",
		example: "lopper worker --temporal 127.0.0.1:7233\n" +
			"lopper worker --temporal temporal.lab:7233 --queue gpu --jobs 1 --store 's3://lopper?region=eu-west-1'",
		run: runWorker,
	}
}

func runWorker(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("worker")
	hostPort := fs.String("temporal", "", "the Temporal frontend at `HOST:PORT` (required)")
	namespace := fs.String("namespace", "default", "the Temporal `NS` (namespace)")
	queues := new(stringList)
	fs.Var(queues, "queue", "run the stages of the task queue `NAME` (a stage's runs_on; repeatable; default cpu)")
	storeURL := fs.String("store", "", "reach the runs' store at `URL` (default: the URL each run gives)")
	jobs := fs.Int("jobs", runtime.NumCPU(), fmt.Sprintf("run at most `N` stages at once on each queue (default: the number of CPUs, %d here)", runtime.NumCPU()))
	identity := fs.String("identity", defaultIdentity(), "name this worker `NAME` in run records")
	workDir := fs.String("work-dir", "", "keep the runs' input files fetched from the store, and the stages' run directories, in `DIR` (default: lopper/ in the user's cache directory)")
	workDirMax := fs.String("work-dir-max", "", "keep the copies in the work directory under `SIZE` (e.g. 20GiB): the least recently used ones that no running stage uses are removed at start and after each stage (default: no bound)")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	switch {
	case len(pos) > 0:
		fmt.Fprintf(a.stderr, "lopper worker: unexpected arguments %q\n", pos)
		fs.Usage()
		return exitUsage
	case *hostPort == "":
		fmt.Fprintln(a.stderr, "lopper worker: --temporal HOST:PORT is required")
		return exitUsage
	case *jobs < 1:
		fmt.Fprintf(a.stderr, "lopper worker: --jobs must be at least 1, got %d\n", *jobs)
		return exitUsage
	}
	var maxBytes int64
	if *workDirMax != "" {
		n, ok := parseSize(*workDirMax)
		if !ok {
			fmt.Fprintf(a.stderr, "lopper worker: --work-dir-max %q: want a size such as 20GiB or 500MB\n", *workDirMax)
			return exitUsage
		}
		maxBytes = n
	}
	for _, q := range *queues {
		if err := pipeline.CheckQueue(q); err != nil {
			fmt.Fprintf(a.stderr, "lopper worker: --queue: %v\n", err)
			return exitUsage
		}
	}
	acts := &temporal.Activities{Registry: newRegistry(), Build: buildID(), Numerics: tensor.Fingerprint(), Identity: *identity, Log: a.log, WorkDir: *workDir, WorkDirMax: maxBytes}
	if *storeURL != "" {
		if err := (cacheSpec{url: *storeURL}).check(); err != nil {
			fmt.Fprintf(a.stderr, "lopper worker: --store: %v\n", err)
			return exitUsage
		}
		c, err := pipeline.OpenCacheURL(ctx, *storeURL)
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper worker: %v\n", err)
			return exitFailed
		}
		defer a.closeCache(c)
		acts.Store = c
	}
	acts.Payloads = &temporal.Payloads{Store: acts.Store}
	defer a.closePayloads(acts.Payloads)
	c, err := a.dialTemporal(*hostPort, *namespace, *identity, acts.Payloads)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper worker: %v\n", err)
		return exitFailed
	}
	defer c.Close()
	release, ok := a.guard.hold() // an interrupt lets the worker hand its stages back
	if !ok {
		return exitInterrupted
	}
	defer release()
	q := temporal.QueuesOf(acts.Build)
	a.log.Info("worker started", "temporal", *hostPort, "namespace", *namespace, "identity", *identity,
		"workflow_queue", q.Workflow(), "queues", queueNames(q, *queues), "jobs", *jobs)
	if err := temporal.Serve(ctx, c, temporal.WorkerOptions{Queues: *queues, Jobs: *jobs, Activities: acts}); err != nil {
		fmt.Fprintf(a.stderr, "lopper worker: %v\n", err)
		return exitFailed
	}
	a.log.Info("worker stopped")
	return exitInterrupted
}

// closePayloads closes the stores the payload codec opened.
func (a *app) closePayloads(p *temporal.Payloads) {
	if err := p.Close(); err != nil {
		a.log.Warn("cannot close a store of large payloads", "error", err)
	}
}

// queueNames are the full names of the queues a worker serves.
func queueNames(q temporal.Queues, names []string) []string {
	if len(names) == 0 {
		names = []string{temporal.DefaultQueue}
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = q.Named(n)
	}
	return out
}

// defaultIdentity names this process as Temporal does: pid@host.
func defaultIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%d@%s", os.Getpid(), host)
}

// dialTemporal connects to a Temporal frontend, checking that it answers;
// large payloads go through the runs' store (p).
func (a *app) dialTemporal(hostPort, namespace, identity string, p *temporal.Payloads) (client.Client, error) {
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace, Identity: identity, Logger: temporal.NewLogger(a.log), DataConverter: p.DataConverter()})
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w", hostPort, namespace, err)
	}
	return c, nil
}

// runOnTemporal runs r as `lopper run --temporal` does: this process
// follows the run's workflow, writes the run directory and serves its own
// queue (the volatile stages: they write the run directory).
func (a *app) runOnTemporal(ctx context.Context, r *pipeline.Recipe, opts runner.Options, hostPort, namespace string) (*pipeline.RunRecord, error) {
	identity := defaultIdentity()
	payloads := &temporal.Payloads{}
	defer a.closePayloads(payloads)
	c, err := a.dialTemporal(hostPort, namespace, identity, payloads)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	own := &temporal.Activities{Registry: r.Registry(), Build: opts.Build, Numerics: opts.Numerics, Identity: identity, Log: a.log, Store: opts.Cache, Payloads: payloads}
	return temporal.Run(ctx, c, r, opts, temporal.Options{WorkDir: wd, ClientWorker: own, Payloads: payloads})
}
