package temporal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// flaky is a test kind that fails its first FailFirst runs (per instance),
// and one that reads the run record.
type flakyKit struct {
	mu   sync.Mutex
	runs map[string]int
}

type flakyConfig struct {
	FailFirst int `yaml:"fail_first"`
}

// stepsConfig is the config of the steps kind: N steps of Every each,
// reported as progress.
type stepsConfig struct {
	N     int    `yaml:"n"`
	Every string `yaml:"every"`
}

// readConfig is the config of the read kind: it reads a file, or a
// directory's a.txt, and writes what it read into its work directory.
type readConfig struct {
	Path string `yaml:"path"`
}

type recordConfig struct {
	Volatile bool `yaml:"volatile"`
}

func (k *flakyKit) register(reg *pipeline.Registry) {
	reg.Register("flaky", pipeline.Typed(pipeline.KindOf[flakyConfig]{
		Declare: func(*flakyConfig) pipeline.Decl { return pipeline.Decl{Metrics: []string{"runs"}} },
		Run: func(_ context.Context, sc *pipeline.StageContext, cfg *flakyConfig) (*pipeline.Result, error) {
			k.mu.Lock()
			k.runs[sc.Path]++
			n := k.runs[sc.Path]
			k.mu.Unlock()
			if n <= cfg.FailFirst {
				return nil, fmt.Errorf("flaky failure %d", n)
			}
			return &pipeline.Result{Metrics: pipeline.Metrics{"runs": float64(n)}}, nil
		},
	}))
	reg.Register("steps", pipeline.Typed(pipeline.KindOf[stepsConfig]{
		Declare: func(*stepsConfig) pipeline.Decl { return pipeline.Decl{Metrics: []string{"steps"}} },
		Run: func(ctx context.Context, sc *pipeline.StageContext, cfg *stepsConfig) (*pipeline.Result, error) {
			every, err := time.ParseDuration(cfg.Every)
			if err != nil {
				return nil, err
			}
			for i := range cfg.N {
				sc.Progress(i, cfg.N, "steps")
				select {
				case <-time.After(every):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			sc.Progress(cfg.N, cfg.N, "steps")
			return &pipeline.Result{Metrics: pipeline.Metrics{"steps": float64(cfg.N)}}, nil
		},
	}))
	reg.Register("read", pipeline.Typed(pipeline.KindOf[readConfig]{
		Check: func(c *pipeline.Checker, cfg *readConfig) {
			if c.AtRunTime() {
				if _, err := c.Stat(cfg.Path); err != nil {
					c.Errorf("path", "%v", err)
				}
			}
		},
		Declare: func(cfg *readConfig) pipeline.Decl {
			return pipeline.Decl{Metrics: []string{"bytes"}, Files: []string{cfg.Path}}
		},
		Run: func(ctx context.Context, sc *pipeline.StageContext, cfg *readConfig) (*pipeline.Result, error) {
			p := sc.Resolve(cfg.Path)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				p = filepath.Join(p, "a.txt")
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			work, err := sc.WorkDir()
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(work, "read.txt"), b, 0o644); err != nil {
				return nil, err
			}
			return &pipeline.Result{Metrics: pipeline.Metrics{"bytes": float64(len(b))},
				Details: map[string]any{"path": sc.RecipePath(cfg.Path), "wrote": filepath.Join(work, "read.txt")}}, nil
		},
	}))
	// record reads the run record: the stages that finished before it.
	reg.Register("record", pipeline.Typed(pipeline.KindOf[recordConfig]{
		Declare: func(c *recordConfig) pipeline.Decl {
			return pipeline.Decl{Metrics: []string{"finished"}, Volatile: c.Volatile}
		},
		Run: func(_ context.Context, sc *pipeline.StageContext, _ *recordConfig) (*pipeline.Result, error) {
			n := 0
			sc.Record().Walk(func(s *pipeline.StageRecord) {
				if s.Status == pipeline.StageSucceeded {
					n++
				}
			})
			return &pipeline.Result{Metrics: pipeline.Metrics{"finished": float64(n)}}, nil
		},
	}))
}

// load compiles src with the emit kinds and the kinds above.
func load(t *testing.T, src string) (*pipeline.Recipe, *pipelinetest.Kit, *flakyKit) {
	t.Helper()
	kit, fk := pipelinetest.New(), &flakyKit{runs: map[string]int{}}
	reg := exectest.Registry(kit)
	fk.register(reg)
	r, err := pipeline.Load(exectest.WriteRecipe(t, src), pipeline.LoadOptions{Registry: reg})
	if err != nil {
		t.Fatalf("recipe does not load:\n%v", err)
	}
	return r, kit, fk
}

// started records each stage activity's start: its stage path, attempt and
// queue.
type started struct {
	mu    sync.Mutex
	list  []string
	queue map[string]string
}

func (s *started) listen(env *testsuite.TestWorkflowEnvironment, _ *Activities) {
	s.queue = map[string]string{}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var at ActivityTask
		if err := args.Get(&at); err != nil {
			panic(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.list = append(s.list, fmt.Sprintf("%s#%d", at.Task.Path, info.Attempt))
		s.queue[at.Task.Path] = info.TaskQueue
	})
}

func (s *started) attempts() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.list, " ")
}

func run(t *testing.T, x *testExecutor, r *pipeline.Recipe, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	if opts.OutDir == "" && opts.RunDir == "" {
		opts.OutDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = exectest.Logger(t)
	}
	rec, err := x.Run(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rec
}

// A stage's own failure is retried, on any worker, until it succeeds; the
// record says who ran it and how many attempts it took.
func TestTransientFailureIsRetried(t *testing.T) {
	r, _, fk := load(t, `version: 1
stages:
  f: {uses: flaky, with: {fail_first: 2}}
  after: {uses: emit, with: {reads: [f], metrics: {x: 1}}}
`)
	var st started
	rec := run(t, &testExecutor{t: t, setup: st.listen}, r, runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	f := exectest.Stage(t, rec, "f")
	if f.Attempts != 3 || f.Worker != "test-worker" || f.Metrics["runs"] != 3 || fk.runs["f"] != 3 {
		t.Errorf("f: attempts %d worker %q metrics %v, ran %d times", f.Attempts, f.Worker, f.Metrics, fk.runs["f"])
	}
	if got := st.attempts(); got != "f#1 f#2 f#3 after#1" {
		t.Errorf("activities started: %s", got)
	}
}

// Attempts are bounded: a stage that keeps failing fails the run with its
// last error.
func TestRetriesAreBounded(t *testing.T) {
	r, _, fk := load(t, "version: 1\nstages:\n  f: {uses: flaky, with: {fail_first: 9}}\n")
	rec := run(t, &testExecutor{t: t, plan: func(p *Plan) { p.Attempts = 2 }}, r, runner.Options{})
	f := exectest.Stage(t, rec, "f")
	if rec.Status != pipeline.RunFailed || f.Status != pipeline.StageFailed || f.Error != "flaky failure 2" || f.Attempts != 2 || fk.runs["f"] != 2 {
		t.Errorf("run %s; f: %s %q attempts %d, ran %d times", rec.Status, f.Status, f.Error, f.Attempts, fk.runs["f"])
	}
}

// A config that fails its run-time checks is not retried, nor is a kind's
// failure when it is a failed gate.
func TestInvalidConfigIsNotRetried(t *testing.T) {
	r, _, _ := load(t, "version: 1\nstages:\n  s: {uses: emit, with: {file: missing.txt}}\n")
	var st started
	rec := run(t, &testExecutor{t: t, setup: st.listen}, r, runner.Options{})
	s := exectest.Stage(t, rec, "s")
	if s.Status != pipeline.StageFailed || !strings.Contains(s.Error, "missing.txt") || s.Attempts != 1 {
		t.Errorf("s: %s %q attempts %d", s.Status, s.Error, s.Attempts)
	}
	if got := st.attempts(); got != "s#1" {
		t.Errorf("activities started: %s", got)
	}
}

// A worker that dies in the middle of a stage stops heartbeating: the
// stage's attempt times out and is retried, and the record names the
// worker of the last attempt from its heartbeat. Here every attempt dies
// (the SDK's test environment keeps an attempt's timeout for the next
// ones, so a retry that succeeds is the end-to-end test's to show).
func TestLostWorkerIsDetected(t *testing.T) {
	r, _, _ := load(t, `version: 1
stages:
  a: {uses: emit, with: {value: 2}}
  b: {uses: emit, with: {input: a, add: 3}}
`)
	lost := func(next stageActivity) stageActivity {
		return func(ctx context.Context, at *ActivityTask) (*runner.StageOutcome, error) {
			if at.Task.Path != "b" {
				return next(ctx, at)
			}
			activity.RecordHeartbeat(ctx, Heartbeat{Worker: "doomed", Attempt: int(activity.GetInfo(ctx).Attempt)})
			time.Sleep(600 * time.Millisecond) // dead: no more heartbeats
			return nil, fmt.Errorf("this result must not count: the attempt timed out")
		}
	}
	rec := run(t, &testExecutor{t: t, wrap: lost, plan: func(p *Plan) { p.Heartbeat = 200 * time.Millisecond }}, r, runner.Options{})
	b := exectest.Stage(t, rec, "b")
	if b.Status != pipeline.StageFailed || !strings.Contains(b.Error, "timed out (Heartbeat)") || b.Worker != "doomed" || b.Attempts != DefaultAttempts {
		t.Errorf("b: %s %q worker %q attempts %d", b.Status, b.Error, b.Worker, b.Attempts)
	}
}

// Stages go to their runs_on queue, volatile ones to the run's own
// process, the rest to the default queue; every queue is of the build.
func TestStagesGoToTheirQueues(t *testing.T) {
	r, _, _ := load(t, `version: 1
stages:
  a: {uses: emit, with: {value: 1}}
  g: {uses: emit, runs_on: gpu, with: {input: a, add: 1}}
  v: {uses: emit, with: {volatile: true, metrics: {x: 1}}}
  vg: {uses: emit, runs_on: gpu, with: {volatile: true, metrics: {x: 1}}}
`)
	var st started
	x := &testExecutor{t: t, setup: st.listen, plan: func(p *Plan) { p.Queues.Client = "mine" }}
	rec := run(t, x, r, runner.Options{Build: "v1.2"})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	want := map[string]string{"a": "lopper.v1.2.cpu", "g": "lopper.v1.2.gpu", "v": "mine", "vg": "lopper.v1.2.gpu"}
	for p, q := range want {
		if st.queue[p] != q {
			t.Errorf("%s ran on queue %q, want %q", p, st.queue[p], q)
		}
	}
}

// A volatile stage on a worker reads the run record as it stands when it
// starts; others get a record without stages (they must not read it).
func TestVolatileStageReadsTheRecord(t *testing.T) {
	r, _, _ := load(t, `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
  b: {uses: emit, with: {reads: [a], metrics: {x: 1}}}
  rec: {uses: record, needs: [b], with: {volatile: true}}
  cached: {uses: record, needs: [b]}
`)
	rec := run(t, &testExecutor{t: t}, r, runner.Options{})
	if got := exectest.Stage(t, rec, "rec").Metrics["finished"]; got != 2 {
		t.Errorf("the volatile stage saw %v finished stages, want 2", got)
	}
	if got := exectest.Stage(t, rec, "cached").Metrics["finished"]; got != 0 {
		t.Errorf("a stage that is not volatile saw %v finished stages", got)
	}
}

// Cancelling a run (Ctrl-C) cancels its workflow: the running stage stops,
// the rest never start, and the record says interrupted. (The behaviour
// suite checks the details; this checks that it is the workflow that was
// cancelled.)
func TestCancellationCancelsTheWorkflow(t *testing.T) {
	r, kit, _ := load(t, `version: 1
stages:
  stuck: {uses: emit, with: {block: true}}
  later: {uses: emit, with: {reads: [stuck], metrics: {x: 1}}}
`)
	var cancelled sync.WaitGroup
	cancelled.Add(1)
	setup := func(env *testsuite.TestWorkflowEnvironment, _ *Activities) {
		env.SetOnActivityCanceledListener(func(*activity.Info) { cancelled.Done() })
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for kit.Runs("stuck") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	x := &testExecutor{t: t, setup: setup}
	rec, err := x.Run(ctx, r, runner.Options{OutDir: t.TempDir(), Logger: exectest.Logger(t), Grace: 5 * time.Second})
	if err != nil || rec.Status != pipeline.RunInterrupted {
		t.Fatalf("run: %v %v", err, rec.Status)
	}
	cancelled.Wait() // the activity was cancelled through the workflow
	if s := exectest.Stage(t, rec, "later"); s.Status != pipeline.StageCancelled || kit.Runs("later") != 0 {
		t.Errorf("later: %s, ran %d times", s.Status, kit.Runs("later"))
	}
}
