package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Checker collects a kind's problems with a stage config, each at the
// position of the field it names. Paths are dotted: "sparsity",
// "schedule.to", "targets.2" (a list index).
type Checker struct {
	stage     string
	recipeDir string
	with      *yaml.Node // the stage's with block; nil when absent
	at        Pos        // fallback position: the with key, else the stage id
	dynamic   []string   // paths whose values are only known at run time
	runtime   bool
	files     FileSource // nil: the files are at their paths
	report    func(pos Pos, msg string)
}

// Errorf reports a problem with the field at path ("" for the whole config).
// At load time a problem on a field whose value is interpolated at run time
// (or on a field containing one, or inside one) is deferred: the config is
// checked again once its values are known.
func (c *Checker) Errorf(path, format string, args ...any) {
	if !c.Known(path) {
		return
	}
	c.report(c.pos(path), fmt.Sprintf("%s: %s", fieldLabel(path), fmt.Sprintf(format, args...)))
}

// Known reports whether the value at path is known now: false at load time
// for fields interpolated from run-time values (stage metrics, the loop
// iteration), and for fields that contain such values.
func (c *Checker) Known(path string) bool {
	for _, d := range c.dynamic {
		if related(path, d) {
			return false
		}
	}
	return true
}

// Stage is the id of the stage being checked.
func (c *Checker) Stage() string { return c.stage }

// AtRunTime reports whether this is the run-time check (every value known).
func (c *Checker) AtRunTime() bool { return c.runtime }

// Path resolves a path written in the recipe: relative paths are relative to
// the recipe's directory.
func (c *Checker) Path(p string) string { return resolvePath(c.recipeDir, p) }

// Stat describes the file or directory a path written in the recipe names
// (see Path), as the run sees it: on a distributed executor's worker, as
// the machine that started the run saw it, without fetching it.
func (c *Checker) Stat(p string) (fs.FileInfo, error) {
	if c.files != nil {
		return c.files.Stat(c.Path(p))
	}
	return os.Stat(c.Path(p))
}

func (c *Checker) pos(path string) Pos {
	if c.with == nil {
		return c.at
	}
	n, key, found := lookupPath(c.with, path)
	switch {
	case found && n != nil:
		return Pos{File: c.at.File, Line: n.Line, Col: n.Column}
	case key != nil:
		return Pos{File: c.at.File, Line: key.Line, Col: key.Column}
	}
	return c.at
}

// related reports whether path a and path b overlap: equal, or one inside the
// other. "" is the whole config.
func related(a, b string) bool {
	return a == b || a == "" || b == "" || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}

func fieldLabel(path string) string {
	if path == "" {
		return "with"
	}
	return path
}

// resolvePath joins a relative path to dir; absolute paths and "" are kept.
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
