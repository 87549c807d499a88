package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lopper/internal/sharedtest"
	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/temporal/temporaltest"
)

// sweepRecipe prunes the shared tiny Llama at two sparsities, retrains and
// evaluates each, counts a file next to the recipe with a program, and
// writes a report (in the run's own process).
const sweepRecipe = `version: 1
name: sweep
params:
  model: {type: path, default: model}
  train: {type: path, default: train.txt}
  eval: {type: path, default: eval.txt}
baseline: baseline
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  baseline: {uses: evaluate, with: {model: base, text: "${{ params.eval }}", seq_len: 64, limit: 8}}
  sweep:
    uses: matrix
    with: {sparsity: [0.3, 0.5]}
    stages:
      prune: {uses: prune, with: {model: base, method: magnitude, scope: layer, sparsity: "${{ matrix.sparsity }}"}}
      retrain: {uses: retrain, with: {model: prune, data: "${{ params.train }}", steps: 40, batch_size: 4, seq_len: 64, lr: 0.001, seed: 1}}
      check: {uses: evaluate, with: {model: retrain, text: "${{ params.eval }}", seq_len: 64, limit: 8, baseline: baseline}}
  notes:
    uses: exec
    with:
      run: [sh, -c, 'cat notes.txt; printf "{\"bytes\": %s}" "$(wc -c < notes.txt)" > "$0"', "${{ outputs.metrics }}"]
      metrics: m.json
      metric_names: [bytes]
      files: [notes.txt]
  report: {uses: report, needs: [sweep, notes]}
`

// lockedBuffer is a child's output, read while it is written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A matrix recipe runs on a Temporal dev server (127.0.0.1) with two
// `lopper worker` processes; one is killed (SIGKILL) in the middle of a
// stage, which is retried on the other, and the run succeeds with every
// metric, cache key and model digest equal to a local run's. The workers
// never see the recipe's files: the recipe, the model and the data are
// named through /proc/self/cwd, which is the directory holding them for
// `lopper run` and an empty one for the workers, so they read them from
// the store; what a stage writes on a worker comes back into the run
// directory.
func TestRunOnTemporalSurvivesAKilledWorker(t *testing.T) {
	if raceEnabled {
		t.Skip("the plain test run covers it: the race detector slows the model work eightfold")
	}
	srv := temporaltest.DevServer(t)
	hp := srv.FrontendHostPort()
	inputs := t.TempDir()
	for name, target := range map[string]string{"model": sharedtest.ModelDir(t, "tiny-llama"),
		"train.txt": sharedtest.Path(t, "data", "shakespeare_train.txt"), "eval.txt": sharedtest.Path(t, "data", "shakespeare_eval.txt")} {
		if err := os.Symlink(target, filepath.Join(inputs, name)); err != nil {
			t.Fatal(err)
		}
	}
	notes := "only lopper run sees this\n"
	if err := os.WriteFile(filepath.Join(inputs, "notes.txt"), []byte(notes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inputs, "sweep.yaml"), []byte(sweepRecipe), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(inputs)
	const here = "/proc/self/cwd/" // the inputs for this process, nothing for the workers
	if _, err := os.Stat(here + "sweep.yaml"); err != nil {
		t.Skipf("no /proc/self/cwd here: %v", err)
	}
	set := []string{"--set", "model=" + here + "model", "--set", "train=" + here + "train.txt", "--set", "eval=" + here + "eval.txt"}
	recipe := here + "sweep.yaml"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	workers := map[string]*exec.Cmd{}
	logs := map[string]*lockedBuffer{}
	workDirs := map[string]string{}
	for _, id := range []string{"w1", "w2"} {
		workDirs[id] = t.TempDir()
		cmd := exec.CommandContext(ctx, os.Args[0], "worker", "--temporal", hp, "--identity", id, "--jobs", "2", "--work-dir", workDirs[id])
		cmd.Dir = t.TempDir() // without the inputs
		cmd.Env = append(os.Environ(), childEnv+"=1")
		logs[id] = &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = logs[id], logs[id]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[id] = cmd
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				if err := cmd.Process.Kill(); err != nil {
					t.Error(err)
				}
				_ = cmd.Wait() // killed: its exit status says so
			}
			t.Logf("worker %s:\n%s", id, logs[id])
		})
	}

	out := t.TempDir()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := lopper(ctx, append([]string{"run", recipe, "--out", out, "--temporal", hp, "--store", "file://" + t.TempDir()}, set...)...)
		done <- result{code, stdout, stderr}
	}()
	killed := ""
	for killed == "" {
		select {
		case r := <-done:
			t.Fatalf("the run ended before a worker ran a retrain: code %d %s\n%s", r.code, r.stdout, r.stderr)
		case <-time.After(5 * time.Millisecond):
		}
		for id, l := range logs {
			if strings.Contains(l.String(), "retrain: running") {
				killed = id
				break
			}
		}
	}
	if err := workers[killed].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = workers[killed].Wait() // killed: its exit status says so
	survivor := map[string]string{"w1": "w2", "w2": "w1"}[killed]
	t.Logf("killed %s while it ran a retrain", killed)
	r := <-done
	if r.code != exitOK {
		t.Fatalf("run on Temporal: code %d %s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "run sweep succeeded") || !strings.Contains(r.stdout, "report ") {
		t.Errorf("summary line %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "uploading inputs to the store") {
		t.Errorf("lopper run did not say that it uploaded the inputs:\n%s", r.stderr)
	}
	dir := onlyRun(t, out)
	rec := readRunRecord(t, dir)
	retrained := 0 // retrains retried: the killed worker's (it may have run another stage too)
	rec.Walk(func(s *pipeline.StageRecord) {
		switch {
		case s.Uses == "loop" || s.Uses == "matrix" || s.Uses == "assert":
		case s.Attempts > 1:
			if strings.HasSuffix(s.Path, "/retrain") {
				retrained++
			}
			if s.Worker != survivor {
				t.Errorf("%s: retried on %q (%d attempts); %s was killed", s.Path, s.Worker, s.Attempts, killed)
			}
		case s.Uses == "report" && !strings.Contains(s.Worker, "@"):
			t.Errorf("report ran on %q, not in the run's process", s.Worker)
		case s.Uses != "report" && s.Worker != "w1" && s.Worker != "w2":
			t.Errorf("%s ran on %q", s.Path, s.Worker)
		}
	})
	if retrained == 0 {
		t.Errorf("no retrain was retried; %s was killed in one", killed)
	}
	if _, err := os.Stat(dir + "/report.html"); err != nil {
		t.Errorf("the report is not in the run directory: %v", err)
	}
	if _, err := os.Stat(runner.LockPath(recipe)); err != nil {
		t.Errorf("no lockfile: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "stages", "notes", "exec.stdout")); err != nil || string(got) != notes {
		t.Errorf("the exec stage's stdout in the run directory: %q %v, want %q", got, err, notes)
	}
	fetched := 0
	for id, l := range logs {
		fetched += strings.Count(l.String(), "fetched input")
		if _, err := os.Stat(filepath.Join(workDirs[id], "inputs")); err != nil && strings.Contains(l.String(), "fetched input") {
			t.Errorf("worker %s fetched inputs but has no %s/inputs: %v", id, workDirs[id], err)
		}
	}
	if fetched == 0 {
		t.Errorf("no worker fetched an input from the store")
	}

	localOut := t.TempDir()
	if code, stdout, stderr := lopper(ctx, append([]string{"run", recipe, "--out", localOut, "--cache-dir", t.TempDir()}, set...)...); code != exitOK {
		t.Fatalf("local run: code %d %s\n%s", code, stdout, stderr)
	}
	local := readRunRecord(t, onlyRun(t, localOut))
	n := 0
	local.Walk(func(want *pipeline.StageRecord) {
		if want.Uses == "report" { // its pages hold the run's times and paths
			return
		}
		var got *pipeline.StageRecord
		rec.Walk(func(s *pipeline.StageRecord) {
			if s.Path == want.Path {
				got = s
			}
		})
		n++
		if got == nil || got.Status != want.Status || got.CacheKey != want.CacheKey || !sameMetrics(got.Metrics, want.Metrics) || !sameArtifacts(got.Artifacts, want.Artifacts) {
			t.Errorf("%s: on Temporal %+v, locally %s %v %v key %s", want.Path, got, want.Status, want.Metrics, want.Artifacts, want.CacheKey)
		}
	})
	if n < 9 {
		t.Errorf("compared only %d stages", n)
	}
}

func sameMetrics(a, b pipeline.Metrics) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || (v != w && !(v != v && w != w)) {
			return false
		}
	}
	return true
}

func sameArtifacts(a, b map[string]pipeline.ArtifactRecord) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
