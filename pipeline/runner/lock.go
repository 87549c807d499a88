package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"lopper/internal/fsx"
	"lopper/pipeline"
)

// LockSchema is the version of the lockfile's layout. 2 added the last
// line, lockTrailer, that tells a complete lockfile from a truncated one.
const LockSchema = 2

// ErrBadLock is wrapped by ReadLock's errors for a lockfile that exists but
// cannot be used: damaged (truncated, edited, not YAML) or of another
// schema. `lopper status` reports the recipe stale; a run rewrites it.
var ErrBadLock = errors.New("run the recipe again to rewrite it")

// Lock is a recipe's lockfile (<recipe>.lock, like dvc.lock): what the last
// successful `lopper run` of the recipe computed, and from what. It holds
// no times and no run directory, so an unchanged rerun writes the same
// bytes; `lopper status` compares a recipe against it.
type Lock struct {
	Schema       int         `yaml:"schema"`
	Recipe       string      `yaml:"recipe"` // relative to the lockfile's directory when below it
	RecipeDigest string      `yaml:"recipe_digest"`
	Lopper       string      `yaml:"lopper_version"`
	Build        string      `yaml:"build"`
	Numerics     string      `yaml:"numerics"`
	Params       []LockParam `yaml:"params"`
	// Files are every file and model directory the stages read.
	Files  []LockFile  `yaml:"files"`
	Stages []LockStage `yaml:"stages"`
}

// LockParam is a resolved param.
type LockParam struct {
	Name  string             `yaml:"name"`
	Type  pipeline.ParamType `yaml:"type"`
	Value any                `yaml:"value"`
}

// LockFile is a file or directory with the digest of its contents.
type LockFile struct {
	Path   string `yaml:"path"`
	Digest string `yaml:"digest"`
}

// LockStage is one stage instance ("gradual[2]/prune"), in run order.
// Volatile stages have no cache key and no metrics (they differ from run
// to run).
type LockStage struct {
	Path     string                             `yaml:"path"`
	Uses     string                             `yaml:"uses"`
	Skipped  string                             `yaml:"skipped,omitempty"` // why, when skipped
	Volatile bool                               `yaml:"volatile,omitempty"`
	CacheKey string                             `yaml:"cache_key,omitempty"`
	Config   any                                `yaml:"config,omitempty"`
	Inputs   []LockInput                        `yaml:"inputs,omitempty"`
	Files    []LockFile                         `yaml:"files,omitempty"`
	Outputs  map[string]pipeline.ArtifactRecord `yaml:"outputs,omitempty"`
	Metrics  map[string]float64                 `yaml:"metrics,omitempty"`
}

// LockInput is an artifact a stage read.
type LockInput struct {
	Stage    string `yaml:"stage"`
	Artifact string `yaml:"artifact"`
	Digest   string `yaml:"digest"`
}

// LockPath returns the lockfile of a recipe: its path with the extension
// replaced by .lock (recipes/wanda.yaml → recipes/wanda.lock).
func LockPath(recipePath string) string {
	return strings.TrimSuffix(recipePath, filepath.Ext(recipePath)) + ".lock"
}

// NewLock builds the lockfile of a succeeded run whose lockfile lives in
// lockDir.
func NewLock(rec *pipeline.RunRecord, lockDir string) (*Lock, error) {
	if rec.Status != pipeline.RunSucceeded {
		return nil, fmt.Errorf("run %s %s: only a succeeded run is locked", rec.Name, rec.Status)
	}
	l := &Lock{Schema: LockSchema, Recipe: relTo(lockDir, rec.Recipe.File), RecipeDigest: rec.Recipe.Digest,
		Lopper: rec.Lopper, Build: rec.Build, Numerics: rec.Numerics, Params: []LockParam{}, Files: []LockFile{}, Stages: []LockStage{}}
	for _, p := range rec.Params {
		v := p.Value
		if s, ok := v.(string); ok && p.Type == pipeline.ParamPath {
			v = relTo(lockDir, s)
		}
		l.Params = append(l.Params, LockParam{Name: p.Name, Type: p.Type, Value: v})
	}
	files := map[string]string{}
	var err error
	rec.Walk(func(s *pipeline.StageRecord) {
		if err != nil {
			return
		}
		ls := LockStage{Path: s.Path, Uses: s.Uses, Volatile: s.Volatile, CacheKey: s.CacheKey}
		if s.Status == pipeline.StageSkipped {
			ls.Skipped = s.Reason
		}
		if len(s.Config) > 0 {
			if err = json.Unmarshal(s.Config, &ls.Config); err != nil {
				err = fmt.Errorf("stage %s: config: %w", s.Path, err)
				return
			}
		}
		for _, in := range s.Inputs {
			ls.Inputs = append(ls.Inputs, LockInput{Stage: in.Stage, Artifact: in.Artifact, Digest: in.Digest})
		}
		for _, f := range s.Files {
			lf := LockFile{Path: relTo(lockDir, f.Path), Digest: f.Digest}
			ls.Files = append(ls.Files, lf)
			files[lf.Path] = lf.Digest
		}
		if len(s.Artifacts) > 0 {
			ls.Outputs = s.Artifacts
		}
		if !s.Volatile && len(s.Metrics) > 0 {
			ls.Metrics = s.Metrics
		}
		l.Stages = append(l.Stages, ls)
	})
	if err != nil {
		return nil, err
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		l.Files = append(l.Files, LockFile{Path: p, Digest: files[p]})
	}
	return l, nil
}

// relTo returns p relative to dir when p is below dir, else p.
func relTo(dir, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return filepath.ToSlash(rel)
}

const (
	lockHeader  = "# Written by `lopper run`; `lopper status` compares the recipe against it. Do not edit.\n"
	lockTrailer = "# end of lockfile\n"
)

// Marshal returns the lockfile's text: YAML with fields in a fixed order
// and map keys sorted, so equal locks are equal bytes.
func (l *Lock) Marshal() ([]byte, error) {
	b, err := yaml.Marshal(l)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(lockHeader), b...), lockTrailer...), nil
}

// WriteLock writes l to path atomically.
func WriteLock(path string, l *Lock) error {
	b, err := l.Marshal()
	if err != nil {
		return err
	}
	return fsx.WriteFileAtomic(path, b, 0o644)
}

// writeLockOf writes the lockfile of the succeeded run rec to path.
func writeLockOf(rec *pipeline.RunRecord, path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return errors.New("a directory is in the way")
	}
	l, err := NewLock(rec, filepath.Dir(path))
	if err != nil {
		return err
	}
	return WriteLock(path, l)
}

// ReadLock reads a lockfile. One that is damaged or of another schema is
// an error that names it and wraps ErrBadLock.
func ReadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := yaml.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("the lockfile %s is damaged (%v): %w", path, err, ErrBadLock)
	}
	if l.Schema != LockSchema && l.Schema != 0 {
		return nil, fmt.Errorf("the lockfile %s has schema %d, this lopper reads %d: %w", path, l.Schema, LockSchema, ErrBadLock)
	}
	if l.Schema == 0 || !bytes.HasSuffix(b, []byte(lockTrailer)) {
		return nil, fmt.Errorf("the lockfile %s is damaged (truncated: it does not end with the line %q): %w",
			path, strings.TrimSpace(lockTrailer), ErrBadLock)
	}
	return &l, nil
}
