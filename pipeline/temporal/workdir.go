package temporal

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"lopper/internal/fsx"
)

// A worker's directory (Activities.WorkDir) holds copies: the runs' input
// files fetched from the store (inputs/HEX-NAME), the views standing for a
// recipe's directory (views/HASH, links to those copies) and per run the
// artifacts its stages asked to have on disk (runs/RUN). Each is a unit
// that a running stage holds while it uses it (workDirUse), touched when
// it is used; with a bound (Activities.WorkDirMax), the least recently
// used units that no running stage holds are removed, at the worker's
// start and after each stage, until the directory fits. A unit removed is
// fetched or written again by the next stage that needs it.

// workDirParts are the directories of units below a worker's directory.
var workDirParts = []string{"inputs", "views", "runs"}

// workDirMark is the file that says lopper made a worker's directory:
// trimming removes nothing from a directory without it, so that a
// --work-dir naming a folder of the user's own ($HOME, a recipe's
// directory) never loses their files.
const workDirMark = ".lopper-work-dir"

// claimWorkDir marks dir as a worker's directory that lopper made when it
// is absent or empty, or when adopt is set (lopper/ in the user's cache
// directory, lopper's own name). A directory already holding other things
// stays unmarked: the worker still uses it, but never trims it.
func claimWorkDir(dir string, adopt bool) error {
	mark := filepath.Join(dir, workDirMark)
	if _, err := os.Lstat(mark); err == nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(entries) > 0 && !adopt:
		return nil
	}
	return fsx.WriteFileAtomic(mark, []byte("a lopper worker's directory: lopper may remove what is in inputs/, views/ and runs/\n"), 0o644)
}

// isUnitName reports whether name, in the part of a worker's directory,
// is a name lopper gives a unit there (inputs/HEX-NAME, views/HASH,
// runs/RUN): trimming leaves other entries alone.
func isUnitName(part, name string) bool {
	if strings.HasPrefix(name, ".") { // a copy being written
		return false
	}
	isHex := func(s string) bool {
		_, err := hex.DecodeString(s)
		return err == nil
	}
	switch part {
	case "inputs":
		return len(name) > 65 && name[64] == '-' && isHex(name[:64])
	case "views":
		return len(name) == 32 && isHex(name)
	}
	return true
}

// workDirUse counts the running stages that hold each unit.
type workDirUse struct {
	mu   sync.Mutex
	held map[string]int
}

// hold marks the unit at path in use (until release) and touches it (an
// error says it could not be touched: it is held all the same).
func (u *workDirUse) hold(path string) (release func(), err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.held == nil {
		u.held = map[string]int{}
	}
	u.held[path]++
	now := time.Now()
	if err = os.Chtimes(path, now, now); errors.Is(err, fs.ErrNotExist) {
		err = nil // made after this, it is new anyway
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			if u.held[path]--; u.held[path] <= 0 {
				delete(u.held, path)
			}
		})
	}, err
}

// unit is one unit of a worker's directory.
type unit struct {
	path string
	size int64
	used time.Time
	view bool
}

// trim removes the least recently used units of dir that no stage holds
// until dir holds at most max bytes, and returns the units removed and the
// bytes freed. Removing an input copy removes the views not held (they
// may link to it). max ≤ 0 trims nothing. gone, when set, is told each
// unit removed, before any stage can hold it again.
func (u *workDirUse) trim(dir string, max int64, gone func(path string)) (removed int, freed int64, err error) {
	if max <= 0 {
		return 0, 0, nil
	}
	if _, err := os.Lstat(filepath.Join(dir, workDirMark)); err != nil {
		return 0, 0, fmt.Errorf("refusing to trim %s: lopper did not make it (no %s in it); give the worker a directory of its own (--work-dir)", dir, workDirMark)
	}
	u.mu.Lock() // no stage takes a unit while it may go
	defer u.mu.Unlock()
	var units []unit
	var total int64
	for _, part := range workDirParts {
		entries, err := os.ReadDir(filepath.Join(dir, part))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, freed, err
		}
		for _, e := range entries {
			if !isUnitName(part, e.Name()) {
				continue
			}
			p := filepath.Join(dir, part, e.Name())
			fi, err := os.Lstat(p)
			if err != nil {
				return removed, freed, err
			}
			size, err := treeSize(p)
			if err != nil {
				return removed, freed, err
			}
			total += size
			units = append(units, unit{path: p, size: size, used: fi.ModTime(), view: part == "views"})
		}
	}
	slices.SortStableFunc(units, func(a, b unit) int { return a.used.Compare(b.used) })
	dropViews := false
	for _, un := range units {
		if total <= max {
			break
		}
		if u.held[un.path] > 0 {
			continue
		}
		if gone != nil {
			gone(un.path)
		}
		if err := os.RemoveAll(un.path); err != nil {
			return removed, freed, err
		}
		removed, freed, total = removed+1, freed+un.size, total-un.size
		dropViews = dropViews || filepath.Base(filepath.Dir(un.path)) == "inputs"
	}
	if dropViews {
		for _, un := range units {
			if un.view && u.held[un.path] == 0 {
				if _, err := os.Lstat(un.path); err == nil {
					if err := os.RemoveAll(un.path); err != nil {
						return removed, freed, err
					}
					removed++
				}
			}
		}
	}
	return removed, freed, nil
}

// treeSize is the bytes of the regular files at or below path (links not
// followed).
func treeSize(path string) (int64, error) {
	var n int64
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}
