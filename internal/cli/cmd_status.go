package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lopper/model/tensor"
	"lopper/pipeline/runner"
)

// statusCommand is `lopper status`.
func statusCommand() command {
	return command{
		name:    "status",
		args:    "RECIPE [--set NAME=VALUE] [--all] [--json]",
		summary: "say which stages of a recipe are stale against its lockfile, and why, without running anything",
		help:    "Exit codes: 0 up to date, 1 stale (or no lockfile yet), 2 invalid recipe or usage.",
		example: "lopper status recipes/quickstart.yaml\nlopper status recipes/quickstart.yaml --set retrain_steps=50 --all",
		run:     runStatus,
	}
}

func runStatus(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("status")
	set := setFlag(fs)
	all := fs.Bool("all", false, "also list the stages that are up to date")
	asJSON := fs.Bool("json", false, "print the report as JSON: {recipe, up_to_date, changes, stages}")
	file, code, ok := a.oneRecipe(fs, args)
	if !ok {
		return code
	}
	r, code := a.loadRecipe(file, *set)
	if code != exitOK {
		return code
	}
	lockPath := runner.LockPath(r.Path)
	lock, err := runner.ReadLock(lockPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(a.stdout, "%s: stale: no lockfile %s (the recipe has not run to success yet)\n", file, lockPath)
		return exitFailed
	case errors.Is(err, runner.ErrBadLock):
		fmt.Fprintf(a.stdout, "%s: stale: %v\n", file, err)
		return exitFailed
	case err != nil:
		fmt.Fprintf(a.stderr, "lopper status: %v\n", err)
		return exitUsage
	}
	rep, err := runner.Status(ctx, r, lock, filepath.Dir(lockPath), runner.StatusOptions{Build: buildID(), Numerics: tensor.Fingerprint()})
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper status: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			_, err = a.stdout.Write(append(b, '\n'))
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper status: %v\n", err)
			return exitFailed
		}
	} else if err := rep.WriteText(a.stdout, *all); err != nil {
		fmt.Fprintf(a.stderr, "lopper status: %v\n", err)
		return exitFailed
	}
	if !rep.UpToDate {
		return exitFailed
	}
	return exitOK
}
