package temporal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
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
			if strings.HasPrefix(e.Name(), ".") { // a copy being written
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
