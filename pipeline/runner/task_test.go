package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
	"lopper/pipeline/sched"
)

// Values keep each value's type and bits through JSON.
func TestValuesRoundTrip(t *testing.T) {
	in := runner.Values{
		"params":    map[string]any{"n": 3, "k": 0.30000000000000004, "one": 1.0, "s": "x", "b": true},
		"stage":     map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1), "neg0": math.Copysign(0, -1)},
		"iteration": 2,
		"list":      []any{1, "a", nil, 2.5},
		"none":      nil,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out runner.Values
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	p := out["params"].(map[string]any)
	if v, ok := p["n"].(int); !ok || v != 3 {
		t.Errorf("int param came back as %T %v", p["n"], p["n"])
	}
	if v, ok := p["one"].(float64); !ok || v != 1 {
		t.Errorf("float param 1.0 came back as %T %v", p["one"], p["one"])
	}
	if p["k"] != 0.30000000000000004 || p["s"] != "x" || p["b"] != true {
		t.Errorf("params came back as %v", p)
	}
	s := out["stage"].(map[string]any)
	if !math.IsNaN(s["nan"].(float64)) || !math.IsInf(s["inf"].(float64), 1) || !math.IsInf(s["ninf"].(float64), -1) || !math.Signbit(s["neg0"].(float64)) {
		t.Errorf("special floats came back as %v", s)
	}
	if !reflect.DeepEqual(out["list"], []any{1, "a", nil, 2.5}) || out["iteration"] != 2 || out["none"] != nil {
		t.Errorf("came back as %v", out)
	}
	if _, err := json.Marshal(runner.Values{"x": int64(1)}); err == nil {
		t.Errorf("an int64 (no expression value has that type) was encoded")
	}
	b2, err := json.Marshal(out)
	if err != nil || string(b2) != string(b) {
		t.Errorf("encoding is not stable:\n%s\n%s", b, b2)
	}
}

// memEnv is a TaskEnv that keeps artifacts by reference in memory, as a
// worker keeps them in a store: what travels is only kind and digest.
type memEnv struct {
	store map[pipeline.ArtifactRecord]pipeline.Artifact
}

func (e *memEnv) Artifact(_ context.Context, ref pipeline.ArtifactRecord) (pipeline.Artifact, error) {
	a, ok := e.store[ref]
	if !ok {
		return nil, errors.New("not in the store")
	}
	return a, nil
}
func (e *memEnv) ArtifactDir(context.Context, pipeline.Artifact) (string, error) {
	return "", errors.New("no disk")
}
func (e *memEnv) Record() *pipeline.RunRecord { return &pipeline.RunRecord{} }
func (e *memEnv) Lookup(context.Context, *runner.StageOutcome, pipeline.Decl, string, func(*pipeline.Result) (*pipeline.Result, error), hclog.Logger) (*pipeline.CachedResult, bool, error) {
	return nil, false, nil
}
func (e *memEnv) Keep(_ context.Context, _ *runner.StageOutcome, _ pipeline.Decl, res *pipeline.Result, _ float64, _ hclog.Logger) error {
	for _, a := range res.Artifacts {
		e.store[pipeline.ArtifactRecord{Kind: a.Kind(), Digest: a.Digest()}] = a
	}
	return nil
}
func (e *memEnv) Changed(*runner.StageOutcome) {}

// A stage task that travelled as JSON, with its inputs by reference, runs
// to the same config, cache key and result as the local executor's: the
// run is driven through the scheduling machine with every task encoded,
// decoded and run by RunTask against a store of references, and every
// stage's record is compared with a local run's.
func TestStageTaskTravels(t *testing.T) {
	src := `version: 1
params: {k: 0.30000000000000004, n: 3, name: x}
stages:
  a: {uses: emit, with: {value: "${{ params.k }}", metrics: {n: "${{ params.n }}"}}}
  sweep:
    uses: matrix
    with: {f: [1.0, 2.5], i: [1, 2]}
    stages:
      l:
        uses: loop
        with: {max_iterations: 3, from: a, carry: step, until: "step.value > 4", keep: last}
        stages:
          step: {uses: emit, with: {input: prev, add: "${{ matrix.f * matrix.i }}", reads: [a], metrics: {it: "${{ iteration }}"}}}
  z: {uses: emit, with: {reads: [sweep], metrics: {n: "${{ sweep.branches }}"}}}
`
	kit := pipelinetest.New()
	r := mustLoad(t, kit, src)
	opts := runner.Options{OutDir: t.TempDir(), Build: "b", Numerics: "n", Logger: testLogger(t)}
	local, err := runner.Run(context.Background(), r, opts)
	if err != nil || local.Status != pipeline.RunSucceeded {
		t.Fatalf("local run: %v %s %s", err, local.Status, local.Error)
	}

	env := &memEnv{store: map[pipeline.ArtifactRecord]pipeline.Artifact{}}
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 1})
	acts := m.Start()
	for !m.Done() {
		if len(acts.Start) != 1 {
			t.Fatalf("%d tasks started with one slot", len(acts.Start))
		}
		tk := acts.Start[0]
		b, err := json.Marshal(runner.NewStageTask(tk, local.RunDir, pipeline.RunPaths{RunDir: local.RunDir}))
		if err != nil {
			t.Fatalf("%s: %v", tk.Path, err)
		}
		var task runner.StageTask
		if err := json.Unmarshal(b, &task); err != nil {
			t.Fatalf("%s: %v", tk.Path, err)
		}
		out, _ := runner.RunTask(context.Background(), r, &task, env,
			runner.TaskOptions{Build: "b", Numerics: "n", Log: hclog.NewNullLogger(), Params: r.ParamValues()})
		// The outcome travels back as JSON too.
		if b, err = json.Marshal(out); err != nil {
			t.Fatal(err)
		}
		var back runner.StageOutcome
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		back.ApplyTo(tk.Record)
		acts = m.Apply(sched.Completed{Task: tk.ID, Result: back.Result(), Cached: back.Cached, Err: back.Err()})
	}
	rec := &pipeline.RunRecord{Stages: m.Records()}
	if st, _ := sched.RunOutcome(rec, false); st != pipeline.RunSucceeded {
		t.Fatalf("run by reference: %s", st)
	}
	n := 0
	local.Walk(func(want *pipeline.StageRecord) {
		if want.Uses != "emit" {
			return
		}
		n++
		got := stage(t, rec, want.Path)
		if got.Status != want.Status || got.CacheKey != want.CacheKey || got.ConfigDigest != want.ConfigDigest ||
			!reflect.DeepEqual(got.Metrics, want.Metrics) || !reflect.DeepEqual(got.Artifacts, want.Artifacts) || !reflect.DeepEqual(got.Inputs, want.Inputs) {
			t.Errorf("%s: by reference %s key %s config %s metrics %v artifacts %v inputs %v\nlocally %s key %s config %s metrics %v artifacts %v inputs %v",
				want.Path, got.Status, got.CacheKey, got.ConfigDigest, got.Metrics, got.Artifacts, got.Inputs,
				want.Status, want.CacheKey, want.ConfigDigest, want.Metrics, want.Artifacts, want.Inputs)
		}
	})
	if n < 6 {
		t.Errorf("only %d emit stages ran", n)
	}
}

// A failure's class says whether a distributed executor may retry it: a
// config that fails its run-time checks never is; the kind's own error is.
func TestOutcomeClasses(t *testing.T) {
	src := `version: 1
stages:
  bad: {uses: emit, with: {file: missing.txt}}
  boom: {uses: emit, with: {fail: "disk on fire"}}
  crash: {uses: emit, with: {panic: "index out of range"}}
  ok: {uses: emit, with: {metrics: {x: 1}}}
`
	r := mustLoad(t, pipelinetest.New(), src)
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 4})
	want := map[string]string{"bad": runner.ClassInvalidConfig, "boom": runner.ClassTransient, "crash": runner.ClassTransient, "ok": ""}
	for _, tk := range m.Start().Start {
		out, res := runner.RunTask(context.Background(), r, runner.NewStageTask(tk, t.TempDir(), pipeline.RunPaths{}),
			&memEnv{store: map[pipeline.ArtifactRecord]pipeline.Artifact{}}, runner.TaskOptions{Log: hclog.NewNullLogger()})
		if out.Class != want[tk.Path] || (out.Class == "") != (res != nil) {
			t.Errorf("%s: class %q (error %q), want %q", tk.Path, out.Class, out.Error, want[tk.Path])
		}
		delete(want, tk.Path)
	}
	if len(want) > 0 {
		t.Errorf("not started: %v", want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = mustLoad(t, pipelinetest.New(), "version: 1\nstages:\n  s: {uses: emit, with: {block: true}}\n")
	tk := sched.New(r, nil, sched.Options{}).Start().Start[0]
	out, _ := runner.RunTask(ctx, r, runner.NewStageTask(tk, t.TempDir(), pipeline.RunPaths{}),
		&memEnv{}, runner.TaskOptions{Log: hclog.NewNullLogger()})
	if out.Class != runner.ClassCancelled {
		t.Errorf("a cancelled stage's class is %q", out.Class)
	}
}
