package pipeline

import (
	"fmt"
	"lopper/internal/fsx"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Output is a directory a stage writes (Decl.Outputs), named by a field of
// its config. Without Export, Path is relative to the run directory and
// must stay inside it, so that runs never touch anything else. With Export
// (by convention the kind's config opts in with `export: true`), Path may be
// absolute or relative to the recipe's directory, but it may never be, or
// contain, a directory that lopper or the user depends on: the recipe's
// directory, the working directory, the home directory, the run directory
// or the directory runs are created in, the cache, or a file or directory
// a stage of the recipe reads; nor be inside the cache or a directory a
// stage reads. The engine checks these rules when the recipe is loaded
// (for paths known then), before a run starts (the run and cache
// directories) and before the stage runs (paths interpolated at run time).
// It also refuses two writers of one directory, or of one inside another's,
// and a stage inside a matrix whose output does not vary between branches.
type Output struct {
	Field  string // the config field that names it, e.g. "path"
	Path   string // as the config gives it, interpolated; "" is ignored
	Export bool
}

// OutputPath returns the directory o names: Path joined to the run
// directory, or, for an export, to the recipe's directory (an absolute
// Path is kept).
func (sc *StageContext) OutputPath(o Output) string {
	if o.Export {
		return resolvePath(sc.RecipeDir, filepath.Clean(o.Path))
	}
	return filepath.Join(sc.RunDir, filepath.Clean(o.Path))
}

// runDirOwn are the names in a run directory that the engine writes.
var runDirOwn = []string{RecordFile, "artifacts", "stages"}

// exportHint says how an output may leave the run directory.
const exportHint = "outputs stay inside the run directory unless the stage's with sets `export: true` " +
	"(then the path may be absolute, or relative to the recipe's directory)"

// outputGuard holds the directories an export may not be, contain or
// (cache, reads) be inside. Empty entries are unknown and not checked.
// Every path is real (realPath).
type outputGuard struct {
	recipeDir string
	workDir   string
	homeDir   string
	cacheDirs []string // the default cache's .lopper, and the run's cache
	runDir    string   // known at run time
	outDir    string   // where run directories are created, known at run time
	reads     []readPath
}

// readPath is a file or directory a stage reads (Decl.Files), real.
type readPath struct {
	path  string
	stage string
}

// check returns what is wrong with o ("" when nothing is), as the end of a
// sentence about the path: "is absolute; …".
func (g *outputGuard) check(o Output) string {
	p := o.Path
	if p == "" {
		return ""
	}
	if !o.Export {
		c := filepath.ToSlash(filepath.Clean(p))
		switch {
		case filepath.IsAbs(p):
			return "is absolute; " + exportHint
		case c == ".":
			return fmt.Sprintf("is the run directory itself; name a directory inside it, e.g. `%s: model`", o.Field)
		case c == ".." || strings.HasPrefix(c, "../"):
			return "leaves the run directory; " + exportHint
		}
		if first, _, _ := strings.Cut(c, "/"); slices.Contains(runDirOwn, first) {
			return fmt.Sprintf("would write into %s, which lopper keeps in every run directory (run.json, artifacts/, stages/); choose another name", first)
		}
		return ""
	}
	abs := realPath(resolvePath(g.recipeDir, filepath.Clean(p)))
	never := []struct{ dir, what string }{
		{g.recipeDir, "the recipe's directory"},
		{g.workDir, "the working directory"},
		{g.homeDir, "your home directory"},
		{g.runDir, "the run directory"},
		{g.outDir, "the directory run directories are created in"},
	}
	for _, n := range never {
		if n.dir == "" {
			continue
		}
		switch d := n.dir; {
		case abs == d:
			return fmt.Sprintf("is %s; lopper never writes over it", n.what)
		case within(d, abs):
			return fmt.Sprintf("contains %s (%s); lopper never writes over it", n.what, d)
		}
	}
	for _, d := range g.cacheDirs {
		if d == "" {
			continue
		}
		if abs == d || within(d, abs) || within(abs, d) {
			return fmt.Sprintf("is or holds lopper's cache (%s); choose a directory outside it", d)
		}
	}
	for _, r := range g.reads {
		switch d := r.path; {
		case abs == d:
			return fmt.Sprintf("is %s, which stage %s reads; an input is never written over", d, r.stage)
		case within(d, abs):
			return fmt.Sprintf("contains %s, which stage %s reads; an input is never written over", d, r.stage)
		case within(abs, d):
			return fmt.Sprintf("is inside %s, which stage %s reads; an input is never written into", d, r.stage)
		}
	}
	return ""
}

// within reports whether path p is strictly inside directory dir (both
// canonical: fsx.Canonical).
func within(p, dir string) bool { return fsx.Within(p, dir) }

// realPaths applies realPath to every non-empty path of g.
func (g *outputGuard) realPaths() *outputGuard {
	for _, p := range []*string{&g.recipeDir, &g.workDir, &g.homeDir, &g.runDir, &g.outDir} {
		if *p != "" {
			*p = realPath(*p)
		}
	}
	for i, c := range g.cacheDirs {
		if c != "" {
			g.cacheDirs[i] = realPath(c)
		}
	}
	return g
}

// realPath returns p canonical (fsx.Canonical: absolute, clean, symbolic
// links of its existing part resolved), or absolute and clean when that
// fails, so that two spellings of one directory compare equal.
func realPath(p string) string {
	r, err := fsx.Canonical(p)
	if err != nil {
		if abs, aerr := filepath.Abs(p); aerr == nil {
			return abs
		}
		return filepath.Clean(p)
	}
	return r
}

// homeDir is the user's home directory, or "" when unknown.
func homeDir() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return h
}
