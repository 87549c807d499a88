package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// outputSite is one output of one load-time instance of a stage.
type outputSite struct {
	s      *Stage
	branch string // the matrix branch, "" outside matrices or when shared
	shared int    // > 1: the config is the same in this many matrix branches
	out    Output
	key    string // where it writes: "run/…" inside the run directory, else absolute
}

// noteDecl records what a load-time instance of s reads and writes, for
// checkOutputs.
func (l *loader) noteDecl(s *Stage, branch string, shared int, d Decl) {
	for _, f := range d.Files {
		if f == "" {
			continue
		}
		if p := resolvePath(l.r.Dir, f); !slices.Contains(l.r.files, p) {
			l.r.files = append(l.r.files, p)
		}
		r := readPath{path: realPath(resolvePath(l.r.Dir, f)), stage: s.ID}
		if !slices.Contains(l.r.reads, r) {
			l.r.reads = append(l.r.reads, r)
		}
	}
	for _, o := range d.Outputs {
		if shared > 1 {
			branch = ""
		}
		l.sites = append(l.sites, &outputSite{s: s, branch: branch, shared: shared, out: o})
	}
}

// workDir is the directory --set paths and the working-directory rule use.
func (l *loader) workDir() string {
	if l.opts.WorkDir != "" {
		return l.opts.WorkDir
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

// guard returns the load-time output rules: the run and cache directories
// of a run are not known yet, except the default cache next to the recipe.
func (r *Recipe) guard(workDir string) *outputGuard {
	return (&outputGuard{
		recipeDir: r.Dir, workDir: workDir, homeDir: homeDir(),
		cacheDirs: []string{filepath.Join(r.Dir, ".lopper")}, reads: r.reads,
	}).realPaths()
}

// checkOutputs checks every output known at load time against the rules of
// Output, then against each other: one directory, or one inside another,
// written by two stages or by several branches of a matrix.
func (l *loader) checkOutputs() {
	g := l.r.guard(l.workDir())
	var ok []*outputSite
	for _, o := range l.sites {
		if o.out.Path == "" {
			continue // the kind reports a missing path; a run-time value is checked then
		}
		if msg := g.check(o.out); msg != "" {
			suffix := ""
			if o.branch != "" {
				suffix = " (in matrix branch " + o.branch + ")"
			}
			l.ps.add(l.r.outputPos(o.s, o.out), l.r.outputProblem(o.s, o.out, msg)+suffix)
			continue
		}
		o.key = outputKey(l.r.Dir, o.out)
		ok = append(ok, o)
	}
	l.r.outputs = ok
	first := map[string]*outputSite{}
	for _, o := range ok {
		if o.shared > 1 {
			l.ps.add(l.r.outputPos(o.s, o.out), l.r.outputProblem(o.s, o.out, sharedMsg(o)))
		}
		f, dup := first[o.key]
		switch {
		case !dup:
			first[o.key] = o
		case f.s == o.s:
			l.ps.add(l.r.outputPos(o.s, o.out), l.r.outputProblem(o.s, o.out,
				fmt.Sprintf("is also where matrix branch %s writes (in matrix branch %s); the path must differ between branches", f.branch, o.branch)))
		default:
			l.ps.add(l.r.outputPos(o.s, o.out), l.r.outputProblem(o.s, o.out,
				fmt.Sprintf("is also where stage %s writes (line %d); two stages never write one directory", f.s.ID, l.r.outputPos(f.s, f.out).Line)))
		}
	}
	for _, o := range ok {
		for dir := parentKey(o.key); dir != ""; dir = parentKey(dir) {
			if f, found := first[dir]; found {
				l.ps.add(l.r.outputPos(o.s, o.out), l.r.outputProblem(o.s, o.out,
					fmt.Sprintf("is inside %q, where stage %s writes (line %d); one would replace the other", f.out.Path, f.s.ID, l.r.outputPos(f.s, f.out).Line)))
				break
			}
		}
	}
}

// sharedMsg words an output that every branch of a matrix writes.
func sharedMsg(o *outputSite) string {
	m := o.s.Parent
	for m != nil && m.Uses != KindMatrix {
		m = m.Parent
	}
	msg := "is the same in every branch of the matrix"
	if m == nil || m.matrix == nil || len(m.matrix.axes) == 0 {
		return msg + ", so the branches would write over each other; put a matrix value in it"
	}
	return fmt.Sprintf("%s %s, so its %d branches would write over each other; put a matrix value in it, e.g. %q",
		msg, m.ID, o.shared, o.out.Path+"-${{ matrix."+m.matrix.axes[0].name+" }}")
}

// outputKey is where o writes, for comparing outputs: "run/PATH" inside the
// run directory, the real absolute path for an export.
func outputKey(recipeDir string, o Output) string {
	if !o.Export {
		return "run/" + filepath.ToSlash(filepath.Clean(o.Path))
	}
	return realPath(resolvePath(recipeDir, filepath.Clean(o.Path)))
}

// parentKey returns the key of the directory holding key, or "" at the top.
func parentKey(key string) string {
	if strings.HasPrefix(key, "run/") {
		if i := strings.LastIndexByte(key, '/'); i > len("run") {
			return key[:i]
		}
		return ""
	}
	if d := filepath.Dir(key); d != key {
		return d
	}
	return ""
}

// outputPos is the position of the config value naming o: its field, else
// the with block, else the stage.
func (r *Recipe) outputPos(s *Stage, o Output) Pos {
	if n, key, found := lookupPath(s.With, o.Field); found && n != nil {
		return Pos{File: r.File, Line: n.Line, Col: n.Column}
	} else if key != nil {
		return Pos{File: r.File, Line: key.Line, Col: key.Column}
	}
	if s.With != nil {
		return s.withPos
	}
	return s.Pos
}

// outputProblem words a problem with output o of stage s: the value as
// written, with the interpolation and the params it came from, then msg.
func (r *Recipe) outputProblem(s *Stage, o Output, msg string) string {
	v := fmt.Sprintf("%q", o.Path)
	for _, it := range s.interps {
		if it.path != o.Field {
			continue
		}
		v = fmt.Sprintf("%s = %q", it.node.Value, o.Path)
		var from []string
		for _, p := range it.parts {
			if p.expr == nil {
				continue
			}
			for _, m := range p.expr.memberRefs() {
				if m[0] == idParams {
					from = append(from, r.paramSource(m[1]))
				}
			}
		}
		if len(from) > 0 {
			v += " (" + strings.Join(from, ", ") + ")"
		}
	}
	if o.Export && !filepath.IsAbs(o.Path) {
		v += fmt.Sprintf(" (export: relative to the recipe's directory, %s)", resolvePath(r.Dir, filepath.Clean(o.Path)))
	}
	return fmt.Sprintf("stage %s: %s: %s %s", s.ID, fieldLabel(o.Field), v, msg)
}

// paramSource says where a param's value comes from.
func (r *Recipe) paramSource(name string) string {
	for _, p := range r.Params {
		if p.Name == name {
			if p.Source == "--set" {
				return "param " + name + ", set with --set"
			}
			return "param " + name + "'s default"
		}
	}
	return "param " + name
}

// RunPaths are the directories a run uses, which no stage output may be,
// hold or lie in.
type RunPaths struct {
	OutDir   string // where run directories are created; "" when the run directory was given
	RunDir   string // the run directory, once given or created
	CacheDir string // the stage cache, "" without one
}

// CheckRunOutputs checks the recipe's load-time outputs against the
// directories a run uses, before anything of the run is created.
func (r *Recipe) CheckRunOutputs(p RunPaths) error {
	g := r.runGuard(p)
	ps := newProblems(r.File, r.Source)
	for _, o := range r.outputs {
		if msg := g.check(o.out); msg != "" {
			ps.add(r.outputPos(o.s, o.out), r.outputProblem(o.s, o.out, msg))
		}
	}
	return ps.err()
}

// runGuard returns the output rules of a run: the load-time ones, the
// working directory as it is now, the run's cache, the directory run
// directories are created in and, once known, the run directory.
func (r *Recipe) runGuard(p RunPaths) *outputGuard {
	wd, err := os.Getwd()
	if err != nil {
		wd = ""
	}
	g := r.guard(wd)
	g.runDir, g.outDir = p.RunDir, p.OutDir
	if p.CacheDir != "" {
		g.cacheDirs = append(g.cacheDirs, p.CacheDir)
	}
	return g.realPaths()
}

// checkStageOutputs checks a stage's outputs as its run-time config gives
// them, just before it runs.
func (r *Recipe) checkStageOutputs(s *Stage, d Decl, p RunPaths) error {
	if len(d.Outputs) == 0 {
		return nil
	}
	g := r.runGuard(p)
	ps := newProblems(r.File, r.Source)
	for _, o := range d.Outputs {
		if msg := g.check(o); msg != "" {
			ps.add(r.outputPos(s, o), r.outputProblem(s, o, msg))
		}
	}
	return ps.err()
}
