package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// StageContext is what a running stage gets from the engine besides its
// config. An executor makes one with NewStageContext and fills in the
// fields.
type StageContext struct {
	ID        string         // the stage's id in the recipe
	Path      string         // its instance in this run: "base", "gradual[2]/prune", "sweep[1]/prune"
	Uses      string         // its kind
	Log       hclog.Logger   // named after the stage; iteration / branch as fields
	Params    map[string]any // resolved params
	RecipeDir string         // relative paths in the recipe resolve against it (see Resolve)
	RunDir    string         // this run's directory
	Iteration int            // the innermost enclosing loop's iteration (0-based), -1 outside loops
	Matrix    map[string]any // the enclosing matrix branches' values, nil outside matrices
	Registry  *Registry      // kinds and artifact codecs
	// OnProgress, when set, also receives every Progress report (a
	// distributed executor heartbeats it).
	OnProgress func(done, total int, unit string)
	// Files, on a distributed executor's worker, are this machine's copies
	// of the files and directories the stage declared (Decl.Files), by the
	// absolute path the recipe names: Resolve reads them. FilesDir holds
	// the declared files below RecipeDir at their relative paths: programs
	// run there (ProgramDir). Both empty: the files are at their paths.
	Files    map[string]string
	FilesDir string

	host     StageHost
	progress progressState
}

// StageHost is the executor's side of a StageContext: what only the engine
// running the stage knows. The local executor (pipeline/runner) implements
// it; a distributed one implements it on its workers.
type StageHost interface {
	// Input returns the result of a finished stage visible to the running
	// one, by id ("prev" inside a loop is the previous iteration's carry).
	Input(id string) (*Result, bool)
	// ArtifactDir returns a directory holding a, encoded by its kind's
	// codec, written once per run however many stages ask (see
	// StageContext.ArtifactDir).
	ArtifactDir(ctx context.Context, a Artifact) (string, error)
	// Record returns a snapshot of the run record so far.
	Record() *RunRecord
}

// NewStageContext returns a StageContext whose inputs, artifact
// directories and run record come from host.
func NewStageContext(host StageHost) *StageContext { return &StageContext{host: host} }

// Input returns the result of the stage r names: a dependency (inputs
// finish before their readers start), or `prev` inside a loop.
func (sc *StageContext) Input(r Ref) (*Result, error) {
	res, ok := sc.host.Input(r.ID)
	if !ok {
		return nil, fmt.Errorf("stage %s: no result for input %q (not a finished dependency)", sc.ID, r.ID)
	}
	return res, nil
}

// Artifact returns the artifact called name of the stage r names.
func (sc *StageContext) Artifact(r Ref, name string) (Artifact, error) {
	res, err := sc.Input(r)
	if err != nil {
		return nil, err
	}
	a, ok := res.Artifacts[name]
	if !ok {
		return nil, fmt.Errorf("stage %s: input %s has no %q artifact", sc.ID, r.ID, name)
	}
	return a, nil
}

// InputArtifact returns the artifact called name of the stage r names as a
// T, e.g. pipeline.InputArtifact[*ModelArtifact](sc, cfg.Model, "model").
// Artifacts are shared: never mutate them.
func InputArtifact[T Artifact](sc *StageContext, r Ref, name string) (T, error) {
	var zero T
	a, err := sc.Artifact(r, name)
	if err != nil {
		return zero, err
	}
	t, ok := a.(T)
	if !ok {
		return zero, fmt.Errorf("stage %s: input %s's %q artifact is a %s (%T), want %T", sc.ID, r.ID, name, a.Kind(), a, zero)
	}
	return t, nil
}

// Resolve resolves a path written in the recipe against the recipe's
// directory, for reading: absolute paths are returned as they are, except
// that a path this machine has a copy of (Files; also a path inside a
// copied directory) is its copy's.
func (sc *StageContext) Resolve(p string) string {
	abs := resolvePath(sc.RecipeDir, p)
	if local, ok := LocalPath(sc.Files, abs); ok {
		return local
	}
	return abs
}

// RecipePath resolves a path written in the recipe against the recipe's
// directory as the recipe means it, never a local copy: for results and
// messages, which must not depend on the machine.
func (sc *StageContext) RecipePath(p string) string { return resolvePath(sc.RecipeDir, p) }

// ProgramDir is the directory where the stage runs a program whose
// relative paths are the recipe's: FilesDir on a worker, else RecipeDir.
func (sc *StageContext) ProgramDir() string {
	if sc.FilesDir != "" {
		return sc.FilesDir
	}
	return sc.RecipeDir
}

// LocalPath returns where files (local copies by the absolute path they
// stand for) has path: its own copy, or the place inside the copy of a
// directory that holds it.
func LocalPath(files map[string]string, path string) (string, bool) {
	if local, ok := files[path]; ok {
		return local, true
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if local, ok := files[dir]; ok {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return "", false
			}
			return filepath.Join(local, rel), true
		}
		if dir == filepath.Dir(dir) {
			return "", false
		}
	}
}

// FileSource is how a stage that runs on another machine than its run's
// (a distributed executor's worker) reaches the files and directories its
// recipe names (Decl.Files). Paths are absolute, as the recipe names them
// (relative ones joined to the recipe's directory).
type FileSource interface {
	// Stat describes path as the run's own machine saw it.
	Stat(path string) (fs.FileInfo, error)
	// Digest returns path's FileDigest as the run's own machine saw it.
	Digest(path string) (string, error)
	// Local makes paths readable on this machine: it returns where each
	// is (see StageContext.Files) and a directory that holds those below
	// recipeDir at their relative paths (StageContext.FilesDir).
	Local(ctx context.Context, recipeDir string, paths []string) (files map[string]string, dir string, err error)
}

// WorkDir returns (creating it) a directory for files this stage instance
// writes: RUN_DIR/stages/PATH.
func (sc *StageContext) WorkDir() (string, error) {
	dir := WorkDirOf(sc.RunDir, sc.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("stage %s: work dir: %w", sc.ID, err)
	}
	return dir, nil
}

// ArtifactDir returns a directory holding the artifact called name of the
// stage r names, encoded by its kind's codec (for a model: a Hugging Face
// directory). Artifacts pass between stages in memory; a stage that needs
// one as files (an external tool, a format check) asks for it here. The
// directory is written atomically the first time any stage of the run asks,
// is shared by later askers, and must not be modified.
func (sc *StageContext) ArtifactDir(ctx context.Context, r Ref, name string) (string, error) {
	a, err := sc.Artifact(r, name)
	if err != nil {
		return "", err
	}
	dir, err := sc.host.ArtifactDir(ctx, a)
	if err != nil {
		return "", fmt.Errorf("stage %s: %s's %q artifact on disk: %w", sc.ID, r.ID, name, err)
	}
	return dir, nil
}

// Record returns a snapshot of the run record so far: every stage that has
// started, with results, including each loop iteration and matrix branch.
func (sc *StageContext) Record() *RunRecord { return sc.host.Record() }

// Progress reports progress: done of total units (e.g. 40 of 200 "steps").
// It is logged at debug level, and at info level at most every 10 seconds
// and on completion.
func (sc *StageContext) Progress(done, total int, unit string) {
	if sc.OnProgress != nil {
		sc.OnProgress(done, total, unit)
	}
	args := ProgressArgs(done, total, unit)
	if sc.progress.due(done >= total) {
		sc.Log.Info("progress", args...)
	} else {
		sc.Log.Debug("progress", args...)
	}
}

// ProgressInfoEvery is how often a stage's progress is logged at info
// level (Progress).
const ProgressInfoEvery = 10 * time.Second

// ProgressArgs are the fields of a "progress" log line: done, total, unit
// and, when total is known, percent.
func ProgressArgs(done, total int, unit string) []any {
	args := []any{"done", done, "total", total, "unit", unit}
	if total > 0 {
		args = append(args, "percent", fmt.Sprintf("%.0f", 100*float64(done)/float64(total)))
	}
	return args
}

// progressState throttles info-level progress logs.
type progressState struct {
	mu   sync.Mutex
	last time.Time
}

func (p *progressState) due(final bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if final || now.Sub(p.last) >= ProgressInfoEvery {
		p.last = now
		return true
	}
	return false
}

// WorkDirOf is the work directory of the stage instance at path in the run
// directory runDir: RUN_DIR/stages/PATH.
func WorkDirOf(runDir, path string) string {
	return filepath.Join(runDir, "stages", filepath.FromSlash(path))
}
