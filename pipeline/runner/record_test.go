package runner_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

func TestRunRecord(t *testing.T) {
	src := `version: 1
name: rec
description: a record test
params: {v: 1.5}
stages:
  a: {uses: emit, with: {value: "${{ params.v }}", details: {note: hello}}}
  b: {uses: emit, with: {input: a, add: 1}}
  c: {uses: emit, when: "b.value > 100", with: {metrics: {x: 1}}}
`
	kit := pipelinetest.New()
	f := writeRecipe(t, src)
	r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: registry(kit), Set: []string{"v=2.5"}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: out, Version: "9.9.9-test", Jobs: 3, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(rec.RunDir) != out || !strings.HasSuffix(rec.RunDir, "-rec") {
		t.Errorf("run dir %s, want %s/<timestamp>-rec", rec.RunDir, out)
	}
	m := readRecord(t, rec)
	recipe := m["recipe"].(map[string]any)
	checks := map[string]any{
		"status": "succeeded", "name": "rec", "description": "a record test", "lopper_version": "9.9.9-test",
		"go_version": runtime.Version(), "jobs": 3.0,
	}
	for k, v := range checks {
		if m[k] != v {
			t.Errorf("run.json %s = %v, want %v", k, m[k], v)
		}
	}
	if recipe["text"] != src || recipe["digest"] != r.Digest || recipe["file"] != r.Path {
		t.Errorf("recipe record %v", recipe)
	}
	params := m["params"].([]any)[0].(map[string]any)
	if params["name"] != "v" || params["value"] != 2.5 || params["source"] != "--set" || params["type"] != "float" {
		t.Errorf("params %v", params)
	}
	stages := m["stages"].([]any)
	b := stages[1].(map[string]any)
	if b["status"] != "succeeded" || b["metrics"].(map[string]any)["value"] != 3.5 {
		t.Errorf("stage b %v", b)
	}
	in := b["inputs"].([]any)[0].(map[string]any)
	if in["stage"] != "a" || in["digest"] != "number:2.5" {
		t.Errorf("b's input record %v", in)
	}
	if b["artifacts"].(map[string]any)["number"].(map[string]any)["digest"] != "number:3.5" {
		t.Errorf("b's artifacts %v", b["artifacts"])
	}
	if !strings.HasPrefix(b["config_digest"].(string), "sha256:") {
		t.Errorf("config digest %v", b["config_digest"])
	}
	if c := stages[2].(map[string]any); c["status"] != "skipped" {
		t.Errorf("c %v", c)
	}
	// Atomic writes leave no temporary files behind.
	entries, err := os.ReadDir(rec.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != pipeline.RecordFile && e.Name() != "stages" {
			t.Errorf("unexpected file in the run dir: %s", e.Name())
		}
	}
	// The in-memory record gives typed access to results.
	if got := stage(t, rec, "a").Result().Details.(map[string]any)["note"]; got != "hello" {
		t.Errorf("details via Result(): %v", got)
	}
	// A second run of the same recipe in the same second gets its own dir.
	rec2, err := runner.Run(context.Background(), r, runner.Options{OutDir: out, Logger: testLogger(t)})
	if err != nil || rec2.RunDir == rec.RunDir {
		t.Errorf("second run dir %s (err %v)", rec2.RunDir, err)
	}
}

func TestSummary(t *testing.T) {
	src := `version: 1
name: sum
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
  bad: {uses: emit, with: {fail: "out of memory"}}
  after: {uses: emit, with: {reads: [bad], metrics: {x: 1}}}
`
	rec := runRecipe(t, context.Background(), pipelinetest.New(), src, runner.Options{})
	s := pipeline.Summarize(rec)
	if s.Counts[pipeline.StageSucceeded] != 1 || s.Counts[pipeline.StageFailed] != 1 || s.Counts[pipeline.StageCancelled] != 1 || len(s.Stages) != 3 {
		t.Errorf("summary %+v", s)
	}
	line := s.Line(filepath.Dir(rec.RunDir))
	want := "run sum failed in "
	if !strings.HasPrefix(line, want) || !strings.Contains(line, ": 1 succeeded, 1 failed, 1 cancelled; stage bad: out of memory; record "+filepath.Base(rec.RunDir)+"/run.json") {
		t.Errorf("line %q", line)
	}
	if strings.Contains(line, "\n") {
		t.Errorf("summary is not one line")
	}
}

func TestMetricsJSONNonFinite(t *testing.T) {
	in := pipeline.Metrics{"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1), "x": 0.125}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"inf":"+Inf","nan":"NaN","ninf":"-Inf","x":0.125}` {
		t.Errorf("json %s", b)
	}
	var out pipeline.Metrics
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(out["nan"]) || !math.IsInf(out["inf"], 1) || !math.IsInf(out["ninf"], -1) || out["x"] != 0.125 {
		t.Errorf("round trip %v", out)
	}
	if err := json.Unmarshal([]byte(`{"a":"fast"}`), &out); err == nil {
		t.Errorf("a non-number string was accepted")
	}
}

// A run whose stage produces NaN still writes a valid run.json.
func TestNaNMetricRecorded(t *testing.T) {
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {loss: .nan}}}
`
	rec := runRecipe(t, context.Background(), pipelinetest.New(), src, runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	m := readRecord(t, rec)
	if got := m["stages"].([]any)[0].(map[string]any)["metrics"].(map[string]any)["loss"]; got != "NaN" {
		t.Errorf("loss recorded as %v", got)
	}
}

// run.json shows the run as it goes, not only at the end.
func TestRunRecordWrittenDuringRun(t *testing.T) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  step1: {uses: emit, with: {metrics: {x: 1}}}
  waiting: {uses: emit, with: {reads: [step1], block: true}}
`
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *pipeline.RunRecord)
	r := mustLoad(t, kit, src)
	go func() {
		rec, err := runner.Run(ctx, r, runner.Options{OutDir: out})
		if err != nil {
			t.Error(err)
		}
		done <- rec
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(out, "*", pipeline.RecordFile))
		var rec pipeline.RunRecord
		if len(files) == 1 {
			if b, err := os.ReadFile(files[0]); err == nil && json.Unmarshal(b, &rec) == nil &&
				len(rec.Stages) == 2 && rec.Stages[0].Status == pipeline.StageSucceeded && rec.Stages[1].Status == pipeline.StageRunning {
				if rec.Status != pipeline.RunRunning {
					t.Errorf("run status on disk %s while running", rec.Status)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("run.json never showed step1 succeeded and waiting running")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if rec := <-done; rec.Status != pipeline.RunInterrupted {
		t.Errorf("final status %s", rec.Status)
	}
}
