package exectest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// The loop's third iteration reads a file that is missing in the first
// attempt; --resume continues at that iteration once it exists.
const resumeRecipe = `version: 1
name: resume
params: {dir: {type: path, default: .}, k: 0.5}
stages:
  a: {uses: emit, with: {value: "${{ params.k }}"}}
  l:
    uses: loop
    with: {max_iterations: 3, from: a, carry: step}
    stages:
      step: {uses: emit, with: {input: prev, add: 1, file: "${{ params.dir }}/ok${{ iteration }}.txt"}}
  z: {uses: emit, with: {input: l, add: 100}}
`

func testResumeContinuesAFailedRunInItsLoop(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	reg := registry(kit)
	data := t.TempDir()
	for _, f := range []string{"ok0.txt", "ok1.txt"} {
		if err := os.WriteFile(filepath.Join(data, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := writeRecipe(t, resumeRecipe)
	// A float that only round-trips when written exactly.
	r, err := pipeline.Load(file, pipeline.LoadOptions{Registry: reg, Set: []string{"dir=" + data, "k=0.30000000000000004"}})
	if err != nil {
		t.Fatal(err)
	}
	cache, err := pipeline.OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	opts := runner.Options{OutDir: t.TempDir(), Cache: cache, Build: "b", Numerics: "n", Logger: testLogger(t)}
	first, err := ex.Run(context.Background(), r, opts)
	if err != nil || first.Status != pipeline.RunFailed {
		t.Fatalf("first attempt: %v %s", err, first.Status)
	}
	if err := os.WriteFile(filepath.Join(data, "ok2.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := runner.LoadResumable(first.RunDir, reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Recipe.ParamValues()["k"]; got != 0.30000000000000004 {
		t.Errorf("resumed param k = %v", got)
	}
	rec, err := ex.Run(context.Background(), res.Recipe, res.ResumeOptions(runner.Options{Cache: cache, Build: "b", Numerics: "n", Logger: testLogger(t)}))
	if err != nil || rec.Status != pipeline.RunSucceeded {
		t.Fatalf("resumed: %v %s %s", err, rec.Status, rec.Error)
	}
	if rec.RunDir != first.RunDir || len(rec.Resumed) != 1 || rec.Resumed[0].Status != pipeline.RunFailed || !rec.Resumed[0].Started.Equal(first.Started) {
		t.Errorf("resumed record: dir %s (first %s), attempts %+v", rec.RunDir, first.RunDir, rec.Resumed)
	}
	for path, want := range map[string]pipeline.StageStatus{
		"a": pipeline.StageCached, "l[0]/step": pipeline.StageCached, "l[1]/step": pipeline.StageCached,
		"l[2]/step": pipeline.StageSucceeded, "z": pipeline.StageSucceeded,
	} {
		if got := stage(t, rec, path).Status; got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	for path, runs := range map[string]int{"a": 1, "l[0]/step": 1, "l[1]/step": 1, "l[2]/step": 1, "z": 1} {
		if got := kit.Runs(path); got != runs {
			t.Errorf("%s ran %d times over both attempts, want %d", path, got, runs)
		}
	}
	if got := stage(t, rec, "z").Metrics["value"]; got != 0.30000000000000004+3+100 {
		t.Errorf("z = %v", got)
	}
	// The run's record on disk is the resumed one.
	if m := readRecord(t, rec); m["status"] != "succeeded" || len(m["resumed"].([]any)) != 1 {
		t.Errorf("run.json: status %v resumed %v", m["status"], m["resumed"])
	}
}
