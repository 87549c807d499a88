package sched_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
	"lopper/pipeline/sched"
)

// load compiles src with the test kinds of a fresh kit.
func load(t *testing.T, src string) *pipeline.Recipe {
	t.Helper()
	reg := pipeline.NewRegistry()
	pipelinetest.New().Register(reg)
	f := filepath.Join(t.TempDir(), "recipe.yaml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: reg})
	if err != nil {
		t.Fatalf("recipe does not load:\n%v", err)
	}
	return r
}

// order picks which of the started tasks completes next.
type order struct {
	name string
	pick func(n int) int
}

func orders() []order {
	out := []order{
		{"first started first", func(int) int { return 0 }},
		{"last started first", func(n int) int { return n - 1 }},
	}
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		out = append(out, order{fmt.Sprintf("shuffled %d", seed), func(n int) int { return rng.IntN(n) }})
	}
	return out
}

// script drives a machine to its end with the fake activity, completing
// the started tasks in the given order; before the k-th completion it
// calls before(k, m) (nil: nothing). It returns the record and the tasks in
// the order they were started.
func script(t *testing.T, r *pipeline.Recipe, opts sched.Options, pick func(int) int, before func(int, *sched.Machine) sched.Actions) (*pipeline.RunRecord, []string) {
	t.Helper()
	m := sched.New(r, r.ParamValues(), opts)
	var started []string
	var running []*sched.Task
	acts := m.Start()
	for k := 0; ; k++ {
		for _, tk := range acts.Start {
			started = append(started, tk.Path)
			running = append(running, tk)
		}
		if len(running) > opts.Jobs && opts.Jobs > 0 {
			t.Fatalf("%d tasks running with jobs %d", len(running), opts.Jobs)
		}
		if m.Done() {
			break
		}
		if before != nil {
			if extra := before(k, m); len(extra.Start) > 0 || extra.CancelRunning {
				acts = extra
				continue
			}
		}
		if len(running) == 0 {
			t.Fatalf("not done, but nothing runs")
		}
		i := pick(len(running))
		tk := running[i]
		running = append(running[:i], running[i+1:]...)
		acts = m.Apply(fake(r, tk))
	}
	rec := &pipeline.RunRecord{Stages: m.Records()}
	rec.Status, rec.Error = sched.RunOutcome(rec, m.Cancelled() == sched.ReasonInterrupted)
	return rec, started
}

// fake is a stand-in for the stage activity: it instantiates the task's
// config and calls its kind's Run at once, on this goroutine, with the
// task's inputs. It knows no cache and no run directory.
func fake(r *pipeline.Recipe, tk *sched.Task) (c sched.Completed) {
	c.Task = tk.ID
	inst, err := r.Instantiate(tk.Stage, tk.Values, pipeline.RunPaths{})
	if err != nil {
		c.Err = err
		return c
	}
	sc := pipeline.NewStageContext(inputs(tk.Inputs))
	sc.ID, sc.Path, sc.Uses, sc.Log = tk.Stage.ID, tk.Path, tk.Stage.Uses, hclog.NewNullLogger()
	sc.Params, sc.RecipeDir, sc.Iteration, sc.Matrix = r.ParamValues(), r.Dir, tk.Iteration, tk.Matrix
	sc.Registry = r.Registry()
	defer func() {
		if v := recover(); v != nil {
			c.Result, c.Err = nil, fmt.Errorf("panic: %v", v)
		}
	}()
	c.Result, c.Err = tk.Stage.Kind().Run(context.Background(), sc, inst.Config)
	return c
}

// inputs is a StageHost with nothing but the task's inputs.
type inputs map[string]*pipeline.Result

func (in inputs) Input(id string) (*pipeline.Result, bool) { r, ok := in[id]; return r, ok }
func (inputs) ArtifactDir(context.Context, pipeline.Artifact) (string, error) {
	return "", fmt.Errorf("no artifacts on disk in the fake activity")
}
func (inputs) Record() *pipeline.RunRecord { return &pipeline.RunRecord{} }

// shape is what the machine decides about a run, as JSON: the run's status
// and every stage's status, reason, error, gate flag, result, loop and
// matrix records. What only an activity knows (config, inputs, files,
// cache key) and times are left out.
func shape(t *testing.T, rec *pipeline.RunRecord) string {
	t.Helper()
	c := rec.Clone()
	c.Walk(func(s *pipeline.StageRecord) {
		s.Started, s.Ended, s.Seconds, s.SavedSeconds = zeroTime, zeroTime, 0, 0
		s.Config, s.ConfigDigest, s.Inputs, s.Files, s.CacheKey, s.Volatile = nil, "", nil, nil, "", false
	})
	b, err := json.MarshalIndent(struct {
		Status pipeline.RunStatus
		Error  string
		Stages []*pipeline.StageRecord
	}{c.Status, c.Error, c.Stages}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var zeroTime time.Time

// The machine driven by a fake activity, with tasks completing in any
// order and any --jobs, records exactly what the local executor records
// for the same recipe: the two cannot disagree.
func TestScriptedAgreesWithLocal(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			r := load(t, c.src)
			var want string
			for _, jobs := range []int{1, 4} {
				rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: t.TempDir(), Jobs: jobs})
				if err != nil {
					t.Fatal(err)
				}
				got := shape(t, rec)
				if want == "" {
					want = got
				} else if got != want {
					t.Fatalf("local runs with jobs 1 and %d differ:\n%s\n---\n%s", jobs, want, got)
				}
			}
			for _, o := range orders() {
				for _, jobs := range []int{1, 2, 8} {
					rec, _ := script(t, r, sched.Options{Jobs: jobs}, o.pick, nil)
					if got := shape(t, rec); got != want {
						t.Fatalf("%s, jobs %d: the machine records\n%s\nthe local executor\n%s", o.name, jobs, got, want)
					}
				}
			}
		})
	}
}

// The same events give the same actions: a second machine fed the same
// completions starts the same tasks in the same order, with the same ids.
func TestReplayIsDeterministic(t *testing.T) {
	for _, c := range corpus {
		r := load(t, c.src)
		pick := func(n int) int { return n / 2 }
		rec1, started1 := script(t, r, sched.Options{Jobs: 3}, pick, nil)
		rec2, started2 := script(t, r, sched.Options{Jobs: 3}, pick, nil)
		if fmt.Sprint(started1) != fmt.Sprint(started2) || shape(t, rec1) != shape(t, rec2) {
			t.Errorf("%s: two replays differ: %v vs %v", c.name, started1, started2)
		}
	}
}

// The record's times come from the clock the executor gives.
func TestTimesComeFromTheClock(t *testing.T) {
	r := load(t, corpus[0].src)
	tick := zeroTime
	clock := func() time.Time {
		tick = tick.Add(time.Second)
		return tick
	}
	rec, _ := script(t, r, sched.Options{Jobs: 1, Clock: clock}, func(int) int { return 0 }, nil)
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Status == pipeline.StageSucceeded && (s.Started.IsZero() || !s.Ended.After(s.Started) || s.Seconds <= 0) {
			t.Errorf("%s: started %v ended %v seconds %v", s.Path, s.Started, s.Ended, s.Seconds)
		}
	})
}
