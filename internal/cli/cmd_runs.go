package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"lopper/history"
)

// runsCommand is `lopper runs`.
func runsCommand() command {
	return command{
		name:    "runs",
		args:    "[--out DIR] [--json] [--limit N]",
		summary: "list past runs, newest first, with status and headline metrics",
		help:    "Exit codes: 0 ok, 1 DIR cannot be read, 2 bad usage.",
		example: "lopper runs\nlopper runs --limit 5 --json",
		run:     runRuns,
	}
}

func runRuns(_ context.Context, a *app, args []string) int {
	flags := a.newFlags("runs")
	out := flags.String("out", history.DefaultOutDir, "the `DIR` holding the run directories (lopper run's --out)")
	asJSON := flags.Bool("json", false, "print JSON instead of a table")
	limit := flags.Int("limit", 20, "show the newest `N` runs (0: all)")
	pos, code, ok := a.parse(flags, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(a.stderr, "lopper runs: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	if *limit < 0 {
		fmt.Fprintf(a.stderr, "lopper runs: --limit must be at least 0, got %d\n", *limit)
		return exitUsage
	}
	entries, err := history.List(*out)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(a.stderr, "lopper runs: %s does not exist (no runs yet, or another --out)\n", *out)
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper runs: %v\n", err)
		return exitFailed
	}
	if *limit > 0 && len(entries) > *limit {
		entries = entries[:*limit]
	}
	list := history.Summarize(entries)
	if *asJSON {
		b, err := json.MarshalIndent(list, "", "  ")
		if err == nil {
			_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper runs: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintf(a.stderr, "lopper runs: no runs in %s\n", *out)
		return exitOK
	}
	if err := history.WriteList(a.stdout, list); err != nil {
		fmt.Fprintf(a.stderr, "lopper runs: %v\n", err)
		return exitFailed
	}
	return exitOK
}
