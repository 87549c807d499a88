package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"lopper/history"
	"lopper/pipeline"
)

// diffCommand is `lopper diff`.
func diffCommand() command {
	return command{
		name:    "diff",
		args:    "RUN_A RUN_B [--out DIR] [--json]",
		summary: "compare two runs: params, stage status, metrics and artifact digests",
		help: "RUN is a run directory, its run.json, or the start of a run directory's name under --out.\n" +
			"Exit codes: 0 ok, 1 a record cannot be read, 2 bad usage or no such run.",
		example: "lopper diff runs/20260101T120000Z-quickstart runs/20260102T090000Z-quickstart\nlopper diff 20260101T12 20260102 --json",
		run:     runDiff,
	}
}

func runDiff(_ context.Context, a *app, args []string) int {
	fs := a.newFlags("diff")
	out := fs.String("out", history.DefaultOutDir, "the `DIR` holding the run directories (for RUN given as the start of a name)")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprintf(a.stderr, "lopper diff: want two runs (a run directory, its run.json, or the start of its name), got %d arguments\n", len(pos))
		fs.Usage()
		return exitUsage
	}
	var files [2]string
	for i, arg := range pos {
		f, err := history.Resolve(*out, arg)
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper diff: %v\n", err)
			return exitUsage
		}
		files[i] = f
	}
	var recs [2]*pipeline.RunRecord
	for i, f := range files {
		rec, err := history.Read(f)
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper diff: %v\n", err)
			return exitFailed
		}
		recs[i] = rec
	}
	return printDiff(a, history.Compare(files[0], recs[0], files[1], recs[1]), *asJSON)
}

func printDiff(a *app, c *history.Comparison, asJSON bool) int {
	var err error
	if asJSON {
		var b []byte
		if b, err = json.MarshalIndent(c, "", "  "); err == nil {
			_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		}
	} else {
		err = history.WriteComparison(a.stdout, c)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper diff: %v\n", err)
		return exitFailed
	}
	return exitOK
}
