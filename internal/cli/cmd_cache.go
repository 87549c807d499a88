package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"lopper/pipeline"
)

// cacheCommand is `lopper cache`.
func cacheCommand() command {
	return command{
		name:    "cache",
		args:    "(gc --keep-last N [--dry-run] | verify) (RECIPE | --cache-dir DIR)",
		summary: "stage cache upkeep: gc keeps what the last N runs used, verify reads every entry back",
		help: "gc removes every entry and artifact that the last N runs using the cache did not use\n" +
			"(refused while a run uses the cache); verify decodes everything and checks its digest.\n" +
			"Exit codes: 0 ok, 1 damaged entries (verify) or an I/O error, 2 bad usage.",
		example: "lopper cache gc --keep-last 5 recipes/quickstart.yaml\nlopper cache gc --keep-last 0 --dry-run --cache-dir .lopper/cache\n" +
			"lopper cache verify recipes/quickstart.yaml",
		run: runCache,
	}
}

func runCache(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("cache")
	keep := fs.Int("keep-last", -1, "gc, required: keep the entries (and their artifacts) used by the last `N` runs that used the cache, remove the rest; 0 empties it")
	dry := fs.Bool("dry-run", false, "gc: only say what would be removed")
	dir := fs.String("cache-dir", "", "the cache `DIR` (default: .lopper/cache next to RECIPE)")
	if len(args) == 0 || (args[0] != "gc" && args[0] != "verify") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			a.commandHelp(a.stdout, fs)
			return exitOK
		}
		fmt.Fprintln(a.stderr, "lopper cache: want a subcommand, gc or verify")
		fs.Usage()
		return exitUsage
	}
	sub := args[0]
	pos, code, ok := a.parse(fs, args[1:])
	if !ok {
		return code
	}
	switch {
	case sub == "gc" && *keep < 0:
		fmt.Fprintln(a.stderr, "lopper cache gc: --keep-last N is required (N ≥ 0)")
		return exitUsage
	case sub == "verify" && (flagSet(fs, "keep-last") || *dry):
		fmt.Fprintln(a.stderr, "lopper cache verify: --keep-last and --dry-run are gc's flags")
		return exitUsage
	case len(pos) > 1 || (len(pos) == 1) == (*dir != ""):
		fmt.Fprintf(a.stderr, "lopper cache %s: give a RECIPE (its cache is .lopper/cache next to it) or --cache-dir DIR\n", sub)
		return exitUsage
	case len(pos) == 1:
		*dir = pipeline.DefaultCacheDir(pos[0])
	}
	if _, err := os.Stat(*dir); err != nil {
		fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
		return exitUsage
	}
	c, err := pipeline.OpenCache(*dir)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
		return exitFailed
	}
	if sub == "verify" {
		return a.verifyCache(ctx, c)
	}
	release, ok := a.guard.hold() // an interrupt does not cut removals short
	if !ok {
		return exitInterrupted
	}
	rep, err := c.GC(pipeline.GCOptions{KeepLast: *keep, DryRun: *dry})
	release()
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache gc: %v\n", err)
		return exitFailed
	}
	writeGCReport(a.stdout, c.Dir(), rep, *dry)
	return exitOK
}

// verifyCache reads every entry and artifact of c back; exit 1 when any
// is damaged (runs recompute those; gc removes damaged entries).
func (a *app) verifyCache(ctx context.Context, c *pipeline.Cache) int {
	rep, err := c.Verify(ctx, newRegistry())
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache verify: %v\n", err)
		return exitFailed
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(a.stdout, "damaged: %s\n", p)
	}
	fmt.Fprintf(a.stdout, "%s: %d entries, %d artifacts, %d run logs, %d damaged\n", c.Dir(), rep.Entries, rep.Objects, rep.Runs, len(rep.Problems))
	if len(rep.Problems) > 0 {
		return exitFailed
	}
	return exitOK
}

func writeGCReport(w io.Writer, dir string, r *pipeline.GCReport, dry bool) {
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	fmt.Fprintf(w, "%s: %s %d of %d runs' logs, %d of %d entries, %d of %d artifacts, %d temporary leftovers (%.1f MB)\n",
		dir, verb, r.RunsRemoved, r.Runs, r.EntriesRemoved, r.Entries, r.ObjectsRemoved, r.Objects, r.TempRemoved, float64(r.BytesRemoved)/1e6)
	for _, p := range r.Unknown {
		fmt.Fprintf(w, "left alone: %s (not a file of the cache)\n", p)
	}
}
