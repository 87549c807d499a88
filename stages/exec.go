package stages

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pipeline"
)

// ExecConfig is the with block of `exec`, which runs a program:
//
//	run: [lm_eval, --model, hf, --model_args, "pretrained=${{ inputs.model }}"]  # argv (required)
//	env: {HF_HUB_OFFLINE: "1"}      # added to lopper's environment
//	inputs: {model: prune}          # NAME: STAGE, each stage's model on disk
//	outputs: {model: out}           # a directory the program fills with a model
//	metrics: metrics.json           # a JSON object of numbers the program writes
//	metric_names: [accuracy]        # the metrics it must write (read in expressions)
//	files: [train.py, data/]        # files it reads: part of the cache key
//	timeout: 2h                     # optional: kill it after this long
//	volatile: false                 # optional: true runs it every time (no cache)
//
// No shell is involved: run[0] is the program (found on lopper's PATH, or
// a path relative to the recipe's directory when it holds a `/`) and the
// rest are its arguments; for a shell, run [sh, -c, "…"]. The program runs
// in the recipe's directory with lopper's environment plus env, reads
// nothing on stdin, and its stdout and stderr go to exec.stdout and
// exec.stderr in the stage's work directory (RUN_DIR/stages/PATH).
//
// argv and env values may read, besides params, metrics and the like:
//
//	${{ inputs.NAME }}   the model of the stage NAME maps to, written once
//	                     per run as a Hugging Face directory (do not modify it)
//	${{ outputs.model }} the directory outputs.model names, inside the work
//	                     directory, empty when the program starts
//	${{ outputs.metrics }} where the program writes its metrics
//	${{ outputs.dir }}   the stage's work directory, for anything else
//
// All are absolute paths, checked by name when the recipe is loaded. When
// the program exits 0, the metrics file (a path relative to the work
// directory) becomes the stage's metrics — every number in it; the names in
// metric_names must be there, and only they can be read by expressions
// (until, assert, when, acc_drop), so declare the ones you use — and
// outputs.model is loaded back as the stage's model artifact (without a
// mask: what is zero is what the program left zero). Any other exit fails
// the stage with the end of its stderr; cancelling the run, or the
// timeout, stops its whole process group (SIGTERM, then SIGKILL 5 seconds
// later).
//
// The result is cached (and locked) by the resolved argv and env (with
// the ${{ inputs.* }} and ${{ outputs.* }} references as written, not the
// run's paths), the input models' digests and the contents of files. The
// program itself and the rest of the environment are not part of the key:
// list a script you run in files, and set volatile for a program whose
// result depends on anything else (the clock, the machine, the network).
type ExecConfig struct {
	Run         []string                `yaml:"run"`
	Env         map[string]string       `yaml:"env"`
	Inputs      map[string]pipeline.Ref `yaml:"inputs"`
	Outputs     ExecOutputs             `yaml:"outputs"`
	Metrics     string                  `yaml:"metrics"`
	MetricNames []string                `yaml:"metric_names"`
	Files       []string                `yaml:"files"`
	Timeout     string                  `yaml:"timeout"`
	Volatile    bool                    `yaml:"volatile"`
}

// ExecOutputs are the artifacts an exec stage's program makes.
type ExecOutputs struct {
	// Model is a directory, relative to the stage's work directory, that
	// the program fills with a Hugging Face model.
	Model string `yaml:"model"`
}

// The names an exec stage's interpolations read, besides the usual ones.
const (
	execInputs     = "inputs"
	execOutputs    = "outputs"
	execOutModel   = "model"
	execOutMetrics = "metrics"
	execOutDir     = "dir"
	execStdout     = "exec.stdout"
	execStderr     = "exec.stderr"
)

// execName is what an input, a metric or an env variable may be called.
var execName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func registerExec(reg *pipeline.Registry) {
	reg.Register("exec", pipeline.Typed(pipeline.KindOf[ExecConfig]{
		Check: checkExec, Declare: declareExec, Run: runExec,
	}))
}

func declareExec(cfg *ExecConfig) pipeline.Decl {
	d := pipeline.Decl{Metrics: cfg.MetricNames, Files: cfg.Files, Volatile: cfg.Volatile}
	names := slices.Sorted(maps.Keys(cfg.Inputs))
	for _, n := range names {
		d.Inputs = append(d.Inputs, modelInput(cfg.Inputs[n]))
	}
	outs := []string{execOutDir}
	if cfg.Outputs.Model != "" {
		outs = append(outs, execOutModel)
		d.Artifacts = []string{ArtifactModel}
	}
	if cfg.Metrics != "" {
		outs = append(outs, execOutMetrics)
	}
	d.Locals = map[string][]string{execInputs: names, execOutputs: outs}
	return d
}

func checkExec(c *pipeline.Checker, cfg *ExecConfig) {
	if len(cfg.Run) == 0 {
		c.Errorf("run", "required: the program and its arguments, e.g. [python, train.py, --out, \"${{ outputs.model }}\"]")
	} else if cfg.Run[0] == "" {
		c.Errorf("run.0", "the program to run is empty")
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Env)) {
		if !execName.MatchString(k) {
			c.Errorf("env."+k, "%q is not an environment variable name (letters, digits and _, not starting with a digit)", k)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(cfg.Inputs)) {
		if !execName.MatchString(n) {
			c.Errorf("inputs."+n, "%q cannot be read as ${{ inputs.%s }}: use letters, digits and _, not starting with a digit", n, n)
		}
		checkRef(c, "inputs."+n, cfg.Inputs[n], "model")
	}
	checkWorkPath(c, "outputs.model", cfg.Outputs.Model)
	checkWorkPath(c, "metrics", cfg.Metrics)
	if m, o := cfg.Metrics, cfg.Outputs.Model; m != "" && o != "" {
		if cm, co := filepath.Clean(m), filepath.Clean(o); cm == co || fsx.Within(cm, co) {
			c.Errorf("metrics", "%s is inside outputs.model (%s): write the metrics next to the model, not into it", m, o)
		}
	}
	if len(cfg.MetricNames) > 0 && cfg.Metrics == "" {
		c.Errorf("metric_names", "the metrics are read from a file: set metrics, e.g. `metrics: metrics.json`, and have the program write ${{ outputs.metrics }}")
	}
	for i, n := range cfg.MetricNames {
		field := fmt.Sprintf("metric_names.%d", i)
		switch {
		case !execName.MatchString(n):
			c.Errorf(field, "%q cannot be read in expressions: use letters, digits and _, not starting with a digit", n)
		case n == pipeline.MetricAccDrop || n == pipeline.MetricPplRatio:
			c.Errorf(field, "%s is derived by lopper from accuracy / perplexity and the baseline's; declare those instead", n)
		case slices.Index(cfg.MetricNames, n) < i:
			c.Errorf(field, "%q is listed twice", n)
		}
	}
	for i, f := range cfg.Files {
		field := fmt.Sprintf("files.%d", i)
		if f == "" && c.Known(field) {
			c.Errorf(field, "empty path")
		} else if c.AtRunTime() {
			if _, err := c.Stat(f); err != nil {
				c.Errorf(field, "%v", err)
			}
		}
	}
	if cfg.Timeout != "" {
		if d, err := time.ParseDuration(cfg.Timeout); err != nil || d <= 0 {
			c.Errorf("timeout", "%q is not a duration; want e.g. 90s, 30m or 2h", cfg.Timeout)
		}
	}
}

// checkWorkPath reports a path that must name something inside the
// stage's work directory.
func checkWorkPath(c *pipeline.Checker, field, p string) {
	if p == "" {
		return
	}
	cp := filepath.ToSlash(filepath.Clean(p))
	switch {
	case filepath.IsAbs(p):
		c.Errorf(field, "%s is absolute; it names a file in the stage's work directory (RUN_DIR/stages/ID), which the program reaches as ${{ outputs.%s }}", p, lastField(field))
	case cp == "." || cp == ".." || strings.HasPrefix(cp, "../"):
		c.Errorf(field, "%s is not inside the stage's work directory; name a file or directory in it, e.g. %s", p, lastField(field))
	case cp == execStdout || cp == execStderr:
		c.Errorf(field, "%s is where lopper writes the program's output; choose another name", p)
	}
}

func lastField(field string) string {
	return field[strings.LastIndex(field, ".")+1:]
}

func runExec(ctx context.Context, sc *pipeline.StageContext, cfg *ExecConfig) (*pipeline.Result, error) {
	work, err := sc.WorkDir()
	if err != nil {
		return nil, err
	}
	if work, err = filepath.Abs(work); err != nil {
		return nil, err
	}
	locals := map[string]map[string]string{execInputs: {}, execOutputs: {execOutDir: work}}
	var history []HistoryStep
	for _, n := range slices.Sorted(maps.Keys(cfg.Inputs)) {
		in, err := inputModel(sc, cfg.Inputs[n])
		if err != nil {
			return nil, err
		}
		if len(cfg.Inputs) == 1 {
			history = in.History
		}
		dir, err := sc.ArtifactDir(ctx, cfg.Inputs[n], ArtifactModel)
		if err != nil {
			return nil, err
		}
		if locals[execInputs][n], err = filepath.Abs(filepath.Join(dir, modelSubdir)); err != nil {
			return nil, err
		}
	}
	outModel, metricsFile := "", ""
	if cfg.Outputs.Model != "" {
		outModel = filepath.Join(work, filepath.Clean(cfg.Outputs.Model))
		locals[execOutputs][execOutModel] = outModel
		if err := freshDir(work, outModel); err != nil {
			return nil, err
		}
	}
	if cfg.Metrics != "" {
		metricsFile = filepath.Join(work, filepath.Clean(cfg.Metrics))
		locals[execOutputs][execOutMetrics] = metricsFile
		if err := freshFile(work, metricsFile); err != nil {
			return nil, err
		}
	}
	p := &execProgram{dir: sc.ProgramDir(), work: work, grace: execGrace}
	for _, a := range cfg.Run {
		a = pipeline.SubstituteLocals(a, locals)
		if local, ok := pipeline.LocalPath(sc.Files, a); ok && filepath.IsAbs(a) {
			a = local // an absolute path of a declared file, copied to this machine
		}
		p.argv = append(p.argv, a)
	}
	env := map[string]string{}
	for k, v := range cfg.Env {
		env[k] = pipeline.SubstituteLocals(v, locals)
	}
	p.env = execEnviron(os.Environ(), env)
	if cfg.Timeout != "" {
		if p.timeout, err = time.ParseDuration(cfg.Timeout); err != nil {
			return nil, err
		}
	}
	sc.Log.Info("exec", "argv", p.argv, "dir", p.dir)
	start := time.Now()
	if err := p.run(ctx); err != nil {
		return nil, err
	}
	res := &pipeline.Result{Metrics: pipeline.Metrics{}, Details: map[string]any{
		"argv": p.argv, "env": env, "dir": p.dir, "seconds": time.Since(start).Seconds(),
		"stdout": filepath.Join(work, execStdout), "stderr": filepath.Join(work, execStderr),
		"inputs": locals[execInputs],
	}}
	if metricsFile != "" {
		if res.Metrics, err = readExecMetrics(metricsFile, cfg.MetricNames); err != nil {
			return nil, err
		}
		sc.Log.Info("metrics", metricArgs(res.Metrics)...)
	}
	if outModel != "" {
		a, err := loadExecModel(ctx, sc, outModel, p.argv[0], history)
		if err != nil {
			return nil, err
		}
		res.Artifacts = map[string]pipeline.Artifact{ArtifactModel: a}
		res.Details.(map[string]any)["model"] = dims(a.Model)
	}
	return res, nil
}

// execGrace is how long a cancelled program's process group has between
// SIGTERM and SIGKILL: less than the run's own grace for stopping stages
// (runner.Options.Grace, 10s by default), so that the stage is
// recorded as stopped.
var execGrace = 5 * time.Second

// freshDir makes dir, inside work, an empty directory (an earlier attempt
// of the run may have left one).
func freshDir(work, dir string) error {
	if !fsx.Within(dir, work) {
		return fmt.Errorf("%s is not inside the stage's work directory %s", dir, work)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// freshFile removes file, inside work, and makes its directory.
func freshFile(work, file string) error {
	if !fsx.Within(file, work) {
		return fmt.Errorf("%s is not inside the stage's work directory %s", file, work)
	}
	if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.MkdirAll(filepath.Dir(file), 0o755)
}

// execEnviron is base with env's variables set (replacing base's).
func execEnviron(base []string, env map[string]string) []string {
	out := make([]string, 0, len(base)+len(env))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := env[k]; !over {
			out = append(out, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// loadExecModel loads the model a program wrote into dir.
func loadExecModel(ctx context.Context, sc *pipeline.StageContext, dir, program string, from []HistoryStep) (*ModelArtifact, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("outputs.model: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("outputs.model: the program exited 0 but wrote nothing into %s; it should write a Hugging Face model there (config.json, model.safetensors, tokenizer.json)", dir)
	}
	m, err := model.LoadContext(ctx, dir, model.LoadOptions{CheckFinite: true})
	if err != nil {
		return nil, fmt.Errorf("outputs.model: the model the program wrote: %w", err)
	}
	sc.Log.Info("loaded the program's model", "dir", dir, "params", m.NumParams())
	return NewModelArtifact(m, from, HistoryStep{Stage: sc.Path, Kind: "exec", Summary: map[string]any{"program": program}}), nil
}
