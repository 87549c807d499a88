package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
	"lopper/pipeline"
)

// CheckOutputFile says whether a run of r may write the file path (such as
// `lopper run --summary-json`), before the run starts: path must not be a
// directory, the recipe or its lockfile, nor be or lie inside a path the
// recipe's path params name (its inputs, or the outputs of its stages) or
// the cache directory (cacheDir, "" for none); and its directory must
// exist. Paths are compared canonically (fsx.Canonical), so another
// spelling or a symbolic link of a protected path is that path.
func CheckOutputFile(r *pipeline.Recipe, path, cacheDir string) error {
	target, err := fsx.Canonical(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; name a file", path)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	type protected struct{ path, what string }
	keep := []protected{{r.Path, "the recipe"}, {LockPath(r.Path), "the recipe's lockfile"}}
	if cacheDir != "" {
		keep = append(keep, protected{cacheDir, "the stage cache"})
	}
	for _, p := range r.Params {
		if s, ok := p.Value.(string); ok && p.Type == pipeline.ParamPath && s != "" {
			keep = append(keep, protected{s, fmt.Sprintf("param %s (%s)", p.Name, s)})
		}
	}
	for _, k := range keep {
		cp, err := fsx.Canonical(k.path)
		if err != nil {
			return err
		}
		switch {
		case cp == target:
			return fmt.Errorf("%s is %s; lopper will not overwrite it", path, k.what)
		case fsx.Within(target, cp):
			return fmt.Errorf("%s is inside %s; lopper does not write there", path, k.what)
		}
	}
	if fi, err := os.Stat(filepath.Dir(target)); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: its directory %s does not exist", path, filepath.Dir(target))
	}
	return nil
}
