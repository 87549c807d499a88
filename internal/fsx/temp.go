package fsx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempMark is in the name of every temporary entry fsx makes, and only
// entries with it are ever removed as stale.
const tempMark = ".lopper-tmp-"

// TempPrefix is the name prefix of the temporary entries made for a target
// named base: ".<base>.lopper-tmp-".
func TempPrefix(base string) string { return "." + base + tempMark }

// TempDir is a temporary directory next to its target, locked for as long
// as it is open so that RemoveStale leaves it alone.
type TempDir struct {
	// Path is the directory to fill.
	Path string
	lock *os.File
}

// NewTempDir makes a temporary directory (mode 0755) next to target, in
// target's parent, which must exist.
func NewTempDir(target string) (*TempDir, error) {
	parent, base := filepath.Split(filepath.Clean(target))
	if parent == "" {
		parent = "."
	}
	dir, err := os.MkdirTemp(parent, TempPrefix(base)+"*")
	if err != nil {
		return nil, err
	}
	t := &TempDir{Path: dir}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, errors.Join(err, t.Discard())
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, errors.Join(err, t.Discard())
	}
	t.lock = f
	if err := lockFD(f, true); err != nil && !errors.Is(err, errUnsupported) {
		return nil, errors.Join(err, t.Discard())
	}
	return t, nil
}

// Commit syncs the directory and moves it to target (see ReplaceDir: the
// caller has checked with a Guard that target may be replaced), then
// releases the lock.
func (t *TempDir) Commit(target string) error {
	err := SyncDir(t.Path)
	if err == nil {
		err = ReplaceDir(t.Path, target)
	}
	if err != nil {
		return errors.Join(err, t.Discard())
	}
	t.release()
	return SyncDir(filepath.Dir(filepath.Clean(target)))
}

// CommitNew syncs the directory and renames it to target, which must not
// exist (or be an empty directory): unlike Commit it never replaces what
// is there, so when another writer got there first the error says so
// (os.ErrExist) and the temporary directory is removed.
func (t *TempDir) CommitNew(target string) error {
	err := SyncDir(t.Path)
	if err == nil {
		err = os.Rename(t.Path, target) // onto a non-empty directory: ENOTEMPTY, which is os.ErrExist
	}
	if err != nil {
		return errors.Join(err, t.Discard())
	}
	t.release()
	return SyncDir(filepath.Dir(filepath.Clean(target)))
}

// WriteDirNew makes the directory dir, whose parent must exist, from what
// fill writes into a temporary directory next to it: when fill succeeds
// everything in it is synced (whatever fill did, it is on disk before the
// rename) and it is renamed to dir, never replacing it (see CommitNew:
// os.ErrExist when another writer got there first). On any error the
// temporary directory is removed and dir is untouched.
func WriteDirNew(dir string, fill func(tmp string) error) error {
	tmp, err := NewTempDir(dir)
	if err != nil {
		return err
	}
	if err := fill(tmp.Path); err != nil {
		return errors.Join(err, tmp.Discard())
	}
	if err := SyncTree(tmp.Path); err != nil {
		return errors.Join(err, tmp.Discard())
	}
	return tmp.CommitNew(dir)
}

// Discard removes the temporary directory and releases its lock.
func (t *TempDir) Discard() error {
	err := removeQuiet(t.Path)
	t.release()
	return err
}

func (t *TempDir) release() {
	if t.lock != nil {
		t.lock.Close() // closing drops the lock; nothing was written through it
		t.lock = nil
	}
}

// RemoveStale removes the temporary entries in parent that a killed lopper
// process left behind: names with the fsx temporary mark (for base, or for
// any target when base is empty) that no live process holds locked. It
// returns the paths it removed. Where the file system has no locks it
// removes nothing.
func RemoveStale(parent, base string) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !isTempName(name, base) {
			continue
		}
		p := filepath.Join(parent, name)
		stale, err := isStale(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !stale {
			continue
		}
		if err := removeQuiet(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// RemoveStaleTree is RemoveStale(dir, "") for root and every directory
// below it (not following symbolic links, and not looking inside the
// temporary entries it keeps, which belong to a live writer).
func RemoveStaleTree(root string) ([]string, error) {
	var removed []string
	var errs []error
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed meanwhile, or a stale entry removed above
			}
			return err
		case !d.IsDir():
			return nil
		case p != root && IsTemp(d.Name()):
			return filepath.SkipDir
		}
		r, err := RemoveStale(p, "")
		removed = append(removed, r...)
		if err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	return removed, errors.Join(append(errs, err)...)
}

// IsTemp reports whether name is an fsx temporary entry's name.
func IsTemp(name string) bool { return isTempName(name, "") }

func isTempName(name, base string) bool {
	if base != "" {
		return strings.HasPrefix(name, TempPrefix(base))
	}
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMark)
}

// isStale reports whether no live process holds p's lock.
func isStale(p string) (bool, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // its writer finished meanwhile
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := lockFD(f, false); {
	case err == nil:
		return true, nil
	case errors.Is(err, errBusy), errors.Is(err, errUnsupported):
		return false, nil
	default:
		return false, err
	}
}
