package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"

	"lopper/internal/fsx"
	"lopper/model/tensor"
	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/store"
	"lopper/stages"
)

// runCommand is `lopper run`.
func runCommand() command {
	return command{
		name:    "run",
		args:    "(RECIPE [--set NAME=VALUE] [--out DIR] | --resume RUN_DIR) [--jobs N] [--cache-dir DIR | --store URL | --no-cache] [--fail-fast] [--max-memory SIZE|Nx|auto] [--summary-json FILE] [--temporal HOST:PORT [--namespace NS]]",
		summary: "run a recipe: its stages concurrently, cached, recorded in a run directory",
		help: "Exit codes: 0 succeeded, 1 a stage failed, 2 invalid recipe or usage, 3 an assert gate failed,\n" +
			"130 interrupted (resume with --resume RUN_DIR).",
		example: "lopper run recipes/quickstart.yaml\nlopper run recipes/quickstart.yaml --set sparsity=0.9 --out runs\n" +
			"lopper run recipes/wanda-oneshot.yaml --set model=path/to/hf-model --set eval=path/to/eval.txt\n" +
			"lopper run recipes/quickstart.yaml --store 's3://my-bucket?region=eu-west-1&prefix=lopper/'\n" +
			"lopper run --resume runs/20260101T120000Z-quickstart\n" +
			"lopper run recipes/quickstart.yaml --temporal 127.0.0.1:7233 --store file:///shared/lopper-store",
		run: runRun,
	}
}

func runRun(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("run")
	set := setFlag(fs)
	jobs := fs.Int("jobs", runtime.NumCPU(), fmt.Sprintf("run at most `N` stages at once (default: the number of CPUs, %d here)", runtime.NumCPU()))
	out := fs.String("out", "runs", "create the run directory under `DIR`, as DIR/<UTC time>-<name>/")
	failFast := fs.Bool("fail-fast", false, "cancel every stage when one fails (default: only its dependents)")
	summaryJSON := fs.String("summary-json", "", "also write the run summary as JSON to `FILE`")
	cacheDir := fs.String("cache-dir", "", "the stage cache `DIR` (default: .lopper/cache next to the recipe; a resumed run: the run's own, none if it had none)")
	storeURL := fs.String("store", "", "keep the stage cache in the store at `URL` instead of a directory: file:///DIR (a shared file system), s3://BUCKET?… (S3-compatible), mem:// (tests)")
	noCache := fs.Bool("no-cache", false, "neither reuse nor store stage results")
	temporalAt := fs.String("temporal", "", "run the stages on the Temporal cluster at `HOST:PORT` (its lopper workers), with --store as the cache they share")
	namespace := fs.String("namespace", "default", "with --temporal: the Temporal `NS` (namespace)")
	maxMem := fs.String("max-memory", "auto", "memory budget: a `SIZE` such as 6GiB, a multiple of the checkpoints' size on disk such as 1.5x, or auto (the available memory); a recipe whose resident estimate exceeds it opens its models lazily, decoding weights from the checkpoint while stages read them")
	resume := fs.String("resume", "", "continue the interrupted or failed run in `RUN_DIR`: finished stages come from the cache, the run's recipe and params from its run.json")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	switch {
	case *jobs < 1:
		fmt.Fprintf(a.stderr, "lopper run: --jobs must be at least 1, got %d\n", *jobs)
		return exitUsage
	case (*noCache && *cacheDir != "") || (*noCache && *storeURL != "") || (*cacheDir != "" && *storeURL != ""):
		fmt.Fprintln(a.stderr, "lopper run: --no-cache, --cache-dir and --store exclude each other")
		return exitUsage
	case *resume != "" && (len(pos) > 0 || len(*set) > 0 || flagSet(fs, "out") || flagSet(fs, "fail-fast")):
		fmt.Fprintln(a.stderr, "lopper run: --resume continues a run as it was started: no RECIPE, --set, --out or --fail-fast")
		return exitUsage
	case *temporalAt == "" && flagSet(fs, "namespace"):
		fmt.Fprintln(a.stderr, "lopper run: --namespace is for --temporal")
		return exitUsage
	case *temporalAt != "" && (*noCache || *cacheDir != ""):
		fmt.Fprintln(a.stderr, "lopper run: --temporal needs --store (the store its workers share), not --cache-dir or --no-cache")
		return exitUsage
	case *temporalAt != "" && flagSet(fs, "max-memory"):
		fmt.Fprintln(a.stderr, "lopper run: --max-memory is for local runs: with --temporal the workers load their models")
		return exitUsage
	case *resume == "" && len(pos) != 1:
		fmt.Fprintf(a.stderr, "lopper run: want one RECIPE (or --resume RUN_DIR), got %d arguments\n", len(pos))
		fs.Usage()
		return exitUsage
	}
	mm, err := parseMaxMemory(*maxMem)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper run: %v\n", err)
		return exitUsage
	}
	opts := runner.Options{Jobs: *jobs, FailFast: *failFast, OutDir: *out, Logger: a.log, Version: version,
		Build: buildID(), Numerics: tensor.Fingerprint()}
	var r *pipeline.Recipe
	var cache cacheSpec
	if *resume != "" {
		r, opts, cache, code = a.resumeRun(*resume, opts, cacheSpec{dir: *cacheDir, url: *storeURL}, *noCache)
	} else {
		r, code = a.loadRecipe(pos[0], *set)
		if code == exitOK && !*noCache {
			cache = cacheSpec{dir: *cacheDir, url: *storeURL}
			if cache.url == "" {
				cache.dir = cmp.Or(cache.dir, pipeline.DefaultCacheDir(r.Path))
			}
		}
	}
	if code != exitOK || r == nil {
		return code
	}
	if err := cache.check(); err != nil {
		fmt.Fprintf(a.stderr, "lopper run: --store: %v\n", err)
		return exitUsage
	}
	if *temporalAt != "" && cache.url == "" {
		fmt.Fprintln(a.stderr, "lopper run: --temporal needs --store URL, a store every worker reaches (a resumed run: the run's own)")
		return exitUsage
	}
	if *summaryJSON != "" { // before anything is created
		if err := runner.CheckOutputFile(r, *summaryJSON, cache.localDir()); err != nil {
			fmt.Fprintf(a.stderr, "lopper run: --summary-json: %v\n", err)
			return exitUsage
		}
	}
	c, err := cache.open(ctx)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper run: %v\n", err)
		return exitFailed
	}
	if c != nil {
		defer a.closeCache(c)
		opts.Cache = c
	}
	opts.LockFile = runner.LockPath(r.Path) // written before the final record: see RunOptions
	release, ok := a.guard.hold()           // an interrupt lets the run record itself
	if !ok {
		return exitInterrupted
	}
	defer release()
	var rec *pipeline.RunRecord
	if *temporalAt != "" {
		rec, err = a.runOnTemporal(ctx, r, opts, *temporalAt, *namespace)
	} else {
		mem := planRunMemory(r, mm)
		a.log.Info("memory mode", "mode", mem.mode, "why", mem.why)
		rec, err = runner.Run(mem.context(ctx), r, opts)
	}
	if rec == nil {
		fmt.Fprintf(a.stderr, "lopper run: %v\n", err)
		return exitFailed
	}
	code = exitCodeOf(rec.Status)
	if err != nil { // the run happened but its record could not be written
		a.log.Error("run record incomplete", "error", err)
		code = max(code, exitFailed)
	}
	s := pipeline.Summarize(rec)
	s.ExitCode = code
	wd, err := os.Getwd()
	if err != nil {
		wd = "" // the summary then shows absolute paths
	}
	line := s.Line(wd)
	for _, page := range stages.ReportPages(rec) {
		line += "; report " + pipeline.RelPath(wd, page)
	}
	fmt.Fprintln(a.stdout, line)
	if *summaryJSON != "" {
		data, err := json.MarshalIndent(s, "", "  ")
		if err == nil {
			err = fsx.WriteFileAtomic(*summaryJSON, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper run: --summary-json: %v\n", err)
			return max(code, exitFailed)
		}
	}
	return code
}

// resumeRun loads the run in dir for --resume and the options that
// continue it, and its cache: --cache-dir or --store, else the run's own
// as its record says (none when the run had none, none also for
// --no-cache, which runs every stage again).
func (a *app) resumeRun(dir string, opts runner.Options, given cacheSpec, noCache bool) (*pipeline.Recipe, runner.Options, cacheSpec, int) {
	res, err := runner.LoadResumable(dir, newRegistry())
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper run --resume: %v\n", err)
		return nil, opts, cacheSpec{}, exitUsage
	}
	prev := res.Record
	if prev.Status == pipeline.RunSucceeded {
		fmt.Fprintf(a.stdout, "run %s already succeeded; nothing to resume\n", prev.RunDir)
		return nil, opts, cacheSpec{}, exitOK
	}
	opts = res.ResumeOptions(opts)
	var cache cacheSpec
	switch {
	case noCache:
	case given != cacheSpec{}:
		cache = given
	default:
		cache = cacheSpec{dir: prev.CacheDir, url: prev.Store}
	}
	a.log.Info("resuming", "run_dir", prev.RunDir, "previous_status", prev.Status, "attempt", len(opts.Resumed)+1)
	return res.Recipe, opts, cache, exitOK
}

// cacheSpec is where a run's stage cache is: a directory, or a store's
// URL; neither for none.
type cacheSpec struct{ dir, url string }

// check checks a store's URL (see store.CheckURL) without opening it.
func (c cacheSpec) check() error {
	if c.url == "" {
		return nil
	}
	return store.CheckURL(c.url)
}

// localDir is the cache's directory on this machine, if it has one.
func (c cacheSpec) localDir() string {
	if c.url != "" {
		return store.LocalDir(c.url)
	}
	return c.dir
}

// closeCache closes a cache, logging a failure (the run's outcome stands).
func (a *app) closeCache(c *pipeline.Cache) {
	if err := c.Close(); err != nil {
		a.log.Warn("cannot close the stage cache", "cache", c.Location(), "error", err)
	}
}

// open opens the cache; nil for none.
func (c cacheSpec) open(ctx context.Context) (*pipeline.Cache, error) {
	switch {
	case c.url != "":
		return pipeline.OpenCacheURL(ctx, c.url)
	case c.dir != "":
		return pipeline.OpenCache(c.dir)
	}
	return nil, nil
}

// flagSet reports whether the flag called name was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func exitCodeOf(s pipeline.RunStatus) int {
	switch s {
	case pipeline.RunSucceeded:
		return exitOK
	case pipeline.RunGateFailed:
		return exitGate
	case pipeline.RunInterrupted:
		return exitInterrupted
	}
	return exitFailed
}
