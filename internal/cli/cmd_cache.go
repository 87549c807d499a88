package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"lopper/pipeline"
)

// cacheCommand is `lopper cache`.
func cacheCommand() command {
	return command{
		name:    "cache",
		args:    "(gc --keep-last N [--dry-run] | verify) (RECIPE | --cache-dir DIR | --store URL)",
		summary: "stage cache upkeep: gc keeps what the last N runs used, verify reads every entry back",
		help: "gc removes every entry and artifact that the last N runs using the cache did not use\n" +
			"(refused while a run uses the cache; in a store, what was written in the last hour stays);\n" +
			"verify decodes everything and checks its digest.\n" +
			"Exit codes: 0 ok, 1 damaged entries (verify) or an I/O error, 2 bad usage.",
		example: "lopper cache gc --keep-last 5 recipes/quickstart.yaml\nlopper cache gc --keep-last 0 --dry-run --cache-dir .lopper/cache\n" +
			"lopper cache verify recipes/quickstart.yaml\nlopper cache gc --keep-last 20 --store 's3://my-bucket?region=eu-west-1&prefix=lopper/'",
		run: runCache,
	}
}

func runCache(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("cache")
	keep := fs.Int("keep-last", -1, "gc, required: keep the entries (and their artifacts) used by the last `N` runs that used the cache, remove the rest; 0 empties it")
	dry := fs.Bool("dry-run", false, "gc: only say what would be removed")
	dir := fs.String("cache-dir", "", "the cache `DIR` (default: .lopper/cache next to RECIPE)")
	storeURL := fs.String("store", "", "the cache in the store at `URL` (as lopper run --store)")
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
	case len(pos) > 1 || len(pos)+btoi(*dir != "")+btoi(*storeURL != "") != 1:
		fmt.Fprintf(a.stderr, "lopper cache %s: give a RECIPE (its cache is .lopper/cache next to it), --cache-dir DIR or --store URL\n", sub)
		return exitUsage
	case len(pos) == 1:
		*dir = pipeline.DefaultCacheDir(pos[0])
	}
	spec := cacheSpec{dir: *dir, url: *storeURL}
	if err := spec.check(); err != nil {
		fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
		return exitUsage
	}
	if d := spec.localDir(); d != "" { // a directory that is not there is a typo: make no cache there
		if _, err := os.Stat(d); err != nil {
			fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
			return exitUsage
		}
	}
	c, err := spec.open(ctx)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache %s: %v\n", sub, err)
		return exitFailed
	}
	defer a.closeCache(c)
	if sub == "verify" {
		return a.verifyCache(ctx, c)
	}
	opts := pipeline.GCOptions{KeepLast: *keep, DryRun: *dry}
	if *storeURL != "" {
		opts.Grace = storeGCGrace
	}
	release, ok := a.guard.hold() // an interrupt does not cut removals short
	if !ok {
		return exitInterrupted
	}
	rep, err := c.GC(opts)
	release()
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper cache gc: %v\n", err)
		return exitFailed
	}
	writeGCReport(a.stdout, c.Location(), rep, *dry)
	return exitOK
}

// storeGCGrace is how old what gc removes from a store must be: a store
// has no lock, and a run elsewhere may be using what was written lately.
const storeGCGrace = time.Hour

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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
	transfers := ""
	if rep.Inputs+rep.Payloads > 0 { // a store that runs on Temporal used
		transfers = fmt.Sprintf(", %d inputs, %d payloads", rep.Inputs, rep.Payloads)
	}
	fmt.Fprintf(a.stdout, "%s: %d entries, %d artifacts, %d run logs%s, %d damaged\n", c.Location(), rep.Entries, rep.Objects, rep.Runs, transfers, len(rep.Problems))
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
	fmt.Fprintf(w, "%s: %s %d of %d runs' logs, %d of %d entries, %d of %d artifacts, %d of %d inputs, %d of %d runs' transfers, %d temporary leftovers (%.1f MB)\n",
		dir, verb, r.RunsRemoved, r.Runs, r.EntriesRemoved, r.Entries, r.ObjectsRemoved, r.Objects, r.InputsRemoved, r.Inputs, r.TransfersRemoved, r.Transfers, r.TempRemoved, float64(r.BytesRemoved)/1e6)
	if r.Young > 0 {
		fmt.Fprintf(w, "kept %d written in the last %v (a run elsewhere may be using them)\n", r.Young, storeGCGrace)
	}
	for _, p := range r.Unknown {
		fmt.Fprintf(w, "left alone: %s (not a file of the cache)\n", p)
	}
}
