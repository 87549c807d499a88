package stages

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// runAny runs a recipe and returns its record, whatever its status.
func runAny(t *testing.T, ctx context.Context, r *pipeline.Recipe, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	if opts.RunDir == "" {
		opts.RunDir = t.TempDir()
	}
	opts.Jobs, opts.Version, opts.KeepArtifacts = 2, "test", true // tests inspect the models
	rec, err := runner.Run(ctx, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// failedWith checks that a stage failed with an error holding each of want.
func failedWith(t *testing.T, rec *pipeline.RunRecord, path string, want ...string) string {
	t.Helper()
	s := stage(t, rec, path)
	if s.Status != pipeline.StageFailed {
		t.Fatalf("stage %s: %s, want failed", path, s.Status)
	}
	for _, w := range want {
		if !strings.Contains(s.Error, w) {
			t.Errorf("stage %s's error lacks %q:\n%s", path, w, s.Error)
		}
	}
	return s.Error
}

// A program's metrics file becomes the stage's metrics: a loop's until
// reads them each iteration, an assert after the loop reads the kept
// result, and a stage downstream of the baseline gets acc_drop from its
// accuracy.
func TestExecMetricsDriveLoopAssertAndAccDrop(t *testing.T) {
	src := `version: 1
baseline: base
stages:
  base:
    uses: exec
    with: {run: [sh, -c, 'echo "{\"accuracy\": 0.9}" > "$1"', sh, "${{ outputs.metrics }}"], metrics: m.json, metric_names: [accuracy]}
  search:
    uses: loop
    needs: [base]
    with: {max_iterations: 6, until: "step.accuracy < 0.7", carry: step}
    stages:
      step:
        uses: exec
        with:
          run: [sh, -c, 'echo "{\"accuracy\": $1, \"extra\": 7}" > "$2"', sh, "${{ 0.9 - 0.1 * iteration }}", "${{ outputs.metrics }}"]
          metrics: out/m.json
          metric_names: [accuracy]
  gate: {uses: assert, with: {that: "search.acc_drop > 0.19 && search.acc_drop < 0.21 && search.iterations == 4"}}
`
	rec := run(t, parseRecipe(t, t.TempDir(), src))
	loop := stage(t, rec, "search")
	if n := len(loop.Loop.Iterations); n != 4 {
		t.Errorf("the loop ran %d iterations, want 4 (accuracy 0.9, 0.8, 0.7, 0.6)", n)
	}
	if got := loop.Metrics["accuracy"]; got < 0.69 || got > 0.71 {
		t.Errorf("kept accuracy %g, want 0.7 (the last passing iteration)", got)
	}
	last := stage(t, rec, "search[3]/step")
	if got := last.Metrics["extra"]; got != 7 {
		t.Errorf("undeclared metric extra = %g, want 7 (every number of the file is recorded)", got)
	}
	if got := last.Metrics["acc_drop"]; got < 0.29 || got > 0.31 {
		t.Errorf("acc_drop %g, want 0.9 − 0.6", got)
	}
}

// An input model reaches the program as a Hugging Face directory, and what
// the program writes into outputs.model comes back as the stage's model;
// stdout and stderr are kept in the work directory.
func TestExecModelRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := `version: 1
params: {model: {type: path, default: ` + filepath.Join(repoRoot(t), "quickstart", "model") + `}}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  copy:
    uses: exec
    with:
      inputs: {src: base}
      outputs: {model: out}
      env: {FROM: "${{ inputs.src }}"}
      run: [sh, -c, 'cp -R "$FROM"/. "$1" && echo copied && echo note >&2', sh, "${{ outputs.model }}"]
  check: {uses: verify, with: {model: copy, masks_of: base}}
`
	rec := run(t, parseRecipe(t, dir, src))
	in, out := modelOf(t, stage(t, rec, "base")).Model, modelOf(t, stage(t, rec, "copy"))
	if !slices.Equal(in.W, out.Model.W) || in.Config.Hidden != out.Model.Config.Hidden {
		t.Errorf("the copied model differs from its input")
	}
	if h := out.History; len(h) != 2 || h[0].Kind != "load" || h[1].Kind != "exec" || h[1].Stage != "copy" {
		t.Errorf("history %+v", h)
	}
	work := filepath.Join(rec.RunDir, "stages", "copy")
	for file, want := range map[string]string{"exec.stdout": "copied\n", "exec.stderr": "note\n"} {
		if b, err := os.ReadFile(filepath.Join(work, file)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", file, b, err, want)
		}
	}
	argv := stage(t, rec, "copy").Details.(map[string]any)["argv"].([]string)
	if want := filepath.Join(work, "out"); argv[4] != want {
		t.Errorf("${{ outputs.model }} became %q, want %q", argv[4], want)
	}
}

// A program that exits 0 without writing its model or a declared metric
// fails the stage, saying what is missing.
func TestExecMissingOutputs(t *testing.T) {
	src := `version: 1
stages:
  nomodel: {uses: exec, with: {run: ["true"], outputs: {model: out}}}
  nofile: {uses: exec, with: {run: ["true"], metrics: m.json}}
  noname:
    uses: exec
    with: {run: [sh, -c, 'echo "{\"a\": 1}" > "$1"', sh, "${{ outputs.metrics }}"], metrics: m.json, metric_names: [a, b]}
  notnum:
    uses: exec
    with: {run: [sh, -c, 'echo "{\"a\": \"x\"}" > "$1"', sh, "${{ outputs.metrics }}"], metrics: m.json}
`
	rec := runAny(t, context.Background(), parseRecipe(t, t.TempDir(), src), runner.Options{})
	failedWith(t, rec, "nomodel", "outputs.model: the program exited 0 but wrote nothing into")
	failedWith(t, rec, "nofile", "metrics: the program exited 0 but did not write", "m.json")
	failedWith(t, rec, "noname", "lacks b, which metric_names declares (it has a)")
	failedWith(t, rec, "notnum", `"a" is "x", want a number`)
}

// A non-zero exit fails the stage with the last 20 lines of stderr.
func TestExecFailureQuotesStderrTail(t *testing.T) {
	src := `version: 1
stages:
  bad:
    uses: exec
    with: {run: [sh, -c, 'i=1; while [ $i -le 30 ]; do echo line$i >&2; i=$((i+1)); done; exit 3']}
`
	rec := runAny(t, context.Background(), parseRecipe(t, t.TempDir(), src), runner.Options{})
	msg := failedWith(t, rec, "bad", "sh exited with status 3", "the last 20 lines of its stderr", "line11\n", "line30")
	if strings.Contains(msg, "line10\n") {
		t.Errorf("the error quotes more than 20 lines:\n%s", msg)
	}
}

// gone reports whether process pid has ended (a zombie waiting for its
// parent counts as ended).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(after, "Z")
}

// waitPID waits for a program to write the pid of a child it started.
func waitPID(t *testing.T, file string) int {
	t.Helper()
	for range 500 {
		if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the program did not write %s", file)
	return 0
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for range 300 {
		if gone(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%s (pid %d) is still running", what, pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Log(err)
	}
}

// Cancelling the run stops the program and what it started (its process
// group), promptly.
func TestExecCancelKillsProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	src := `version: 1
stages:
  slow: {uses: exec, with: {run: [sh, -c, 'sleep 300 & echo $! > "$1"; wait', sh, ` + pidFile + `]}}
`
	r := parseRecipe(t, dir, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *pipeline.RunRecord, 1)
	go func() { done <- runAny(t, ctx, r, runner.Options{}) }()
	child := waitPID(t, pidFile)
	start := time.Now()
	cancel()
	rec := <-done
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %s to stop", took)
	}
	if s := stage(t, rec, "slow"); s.Status != pipeline.StageCancelled {
		t.Errorf("slow: %s %s", s.Status, s.Error)
	}
	waitGone(t, child, "the program's child")
}

// A timeout stops a program that ignores SIGTERM with SIGKILL after the
// grace period, and fails the stage.
func TestExecTimeoutEscalatesToKill(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	defer func(g time.Duration) { execGrace = g }(execGrace)
	execGrace = 200 * time.Millisecond
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	src := `version: 1
stages:
  stubborn:
    uses: exec
    with:
      run: [sh, -c, 'trap "" TERM; sleep 300 & echo $! > "$1"; echo waiting >&2; wait; wait', sh, ` + pidFile + `]
      timeout: 300ms
`
	start := time.Now()
	rec := runAny(t, context.Background(), parseRecipe(t, dir, src), runner.Options{})
	failedWith(t, rec, "stubborn", "sh timed out after 300ms and was stopped", "waiting")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %s", took)
	}
	waitGone(t, waitPID(t, pidFile), "the program's child")
}

// The cache: a second run takes the result from the cache; changing a
// declared file or the env runs the program again.
func TestExecCache(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(data, []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := func(env string) *pipeline.Recipe {
		return parseRecipe(t, dir, `version: 1
params: {tag: {type: string, default: a}}
stages:
  count:
    uses: exec
    with:
      run: [sh, -c, 'echo "{\"n\": $(cat data.txt)}" > "$1"', sh, "${{ outputs.metrics }}"]
      env: {TAG: "`+env+`"}
      metrics: m.json
      metric_names: [n]
      files: [data.txt]
`)
	}
	cache, err := pipeline.OpenCache(filepath.Join(dir, ".lopper"))
	if err != nil {
		t.Fatal(err)
	}
	opts := runner.Options{Cache: cache, Build: "b", Numerics: "n"}
	status := func(r *pipeline.Recipe) (pipeline.StageStatus, float64) {
		s := stage(t, runAny(t, context.Background(), r, opts), "count")
		return s.Status, s.Metrics["n"]
	}
	if st, n := status(recipe("a")); st != pipeline.StageSucceeded || n != 3 {
		t.Errorf("first run: %s n=%g", st, n)
	}
	if st, n := status(recipe("a")); st != pipeline.StageCached || n != 3 {
		t.Errorf("second run: %s n=%g, want cached 3", st, n)
	}
	if err := os.WriteFile(data, []byte("4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, n := status(recipe("a")); st != pipeline.StageSucceeded || n != 4 {
		t.Errorf("after changing data.txt: %s n=%g, want a new run giving 4", st, n)
	}
	if st, _ := status(recipe("b")); st != pipeline.StageSucceeded {
		t.Errorf("after changing env: %s, want a new run", st)
	}
}

// An exec stage's config is checked at load time, each problem at its
// FILE:LINE:COL: its inputs and outputs by name in ${{ }}, and what it
// reads in expressions by the metric names it declares.
func TestExecValidation(t *testing.T) {
	dir := t.TempDir()
	src := `version: 1
stages:
  base: {uses: load, with: {path: m}}
  a: {uses: exec, with: {run: [x, "${{ inputs.modle }}", "${{ outputs.model }}"], inputs: {model: base}}}
  b: {uses: exec, with: {run: [], metric_names: [acc, acc], timeout: soon}}
  c: {uses: exec, with: {run: [x], outputs: {model: ../up}, metrics: /tmp/m.json, env: {"A-B": x}}}
  d: {uses: exec, with: {run: [x], outputs: {model: o}, metrics: o/m.json}}
  e: {uses: exec, with: {run: [x], metrics: m.json, metric_names: [score]}}
  f: {uses: exec, with: {run: [x], metrics: m.json, metric_names: [acc_drop]}}
  g: {uses: assert, with: {that: "e.scor > 1"}}
  h: {uses: exec, with: {run: [x], inputs: {m: nosuch}}}
`
	ve := loadInvalid(t, filepath.Join(dir, "exec.yaml"), src)
	wantProblems(t, ve, dir, []string{
		`4:47: stage a: run.1: inputs has no input "modle" (did you mean "model"?); it has model`,
		`4:71: stage a: run.2: outputs has no output "model"; it has dir`,
		`5:31: stage b: run: required: the program and its arguments, e.g. [python, train.py, --out, "${{ outputs.model }}"]`,
		`5:49: stage b: metric_names: the metrics are read from a file: set metrics, e.g. ` + "`metrics: metrics.json`" + `, and have the program write ${{ outputs.metrics }}`,
		`5:55: stage b: metric_names.1: "acc" is listed twice`,
		`5:70: stage b: timeout: "soon" is not a duration; want e.g. 90s, 30m or 2h`,
		`6:53: stage c: outputs.model: ../up is not inside the stage's work directory; name a file or directory in it, e.g. model`,
		`6:70: stage c: metrics: /tmp/m.json is absolute; it names a file in the stage's work directory (RUN_DIR/stages/ID), which the program reaches as ${{ outputs.metrics }}`,
		`6:96: stage c: env.A-B: "A-B" is not an environment variable name (letters, digits and _, not starting with a digit)`,
		`7:66: stage d: metrics: o/m.json is inside outputs.model (o): write the metrics next to the model, not into it`,
		`9:68: stage f: metric_names.0: acc_drop is derived by lopper from accuracy / perplexity and the baseline's; declare those instead`,
		`10:37: stage g: that: stage e has no metric "scor" (did you mean "score"?); it has score`,
		`11:48: stage h: unknown stage "nosuch"`,
	})
}
