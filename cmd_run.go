package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"lopper/pipeline"
)

func init() {
	register(command{
		name:    "run",
		args:    "RECIPE [--set NAME=VALUE] [--jobs N] [--out DIR] [--fail-fast] [--summary-json FILE]",
		summary: "run a recipe; exit 0 ok, 1 a stage failed, 2 invalid recipe, 3 a gate failed, 130 interrupted",
		run:     runRun,
	})
}

func runRun(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("run")
	set := setFlag(fs)
	jobs := fs.Int("jobs", runtime.NumCPU(), "run at most `N` stages at once")
	out := fs.String("out", "runs", "create the run directory under `DIR`, as DIR/<UTC time>-<name>/")
	failFast := fs.Bool("fail-fast", false, "cancel every stage when one fails (default: only its dependents)")
	summaryJSON := fs.String("summary-json", "", "also write the run summary as JSON to `FILE`")
	file, code, ok := a.oneRecipe(fs, args)
	if !ok {
		return code
	}
	if *jobs < 1 {
		fmt.Fprintf(a.stderr, "lopper run: --jobs must be at least 1, got %d\n", *jobs)
		return exitUsage
	}
	r, code := a.loadRecipe(file, *set)
	if code != exitOK {
		return code
	}
	rec, err := pipeline.Run(ctx, r, pipeline.RunOptions{
		Jobs: *jobs, FailFast: *failFast, OutDir: *out, Logger: a.log, Version: version,
	})
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
	fmt.Fprintln(a.stdout, s.Line(wd))
	if *summaryJSON != "" {
		data, err := json.MarshalIndent(s, "", "  ")
		if err == nil {
			err = pipeline.WriteFileAtomic(*summaryJSON, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper run: --summary-json: %v\n", err)
			return max(code, exitFailed)
		}
	}
	return code
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
