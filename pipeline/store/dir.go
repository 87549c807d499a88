package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lopper/internal/fsx"
)

// Dir is a Store in a local directory, the layout of lopper's
// `.lopper/cache`: a blob is a file, an object a directory; both are
// written under a temporary name (fsx: locked while their writer lives)
// and renamed into place, so a reader never sees a part. A lock file,
// .lock, is held shared by runs and exclusively by gc. Several processes
// may share the directory.
type Dir struct {
	dir string
}

// dirLock is the lock file of a Dir.
const dirLock = ".lock"

// OpenDir opens (creating them if needed) the directory dir and the
// directories that layout names below it.
func OpenDir(dir string, layout ...string) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	for _, sub := range layout {
		if err := checkName(sub); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(abs, filepath.FromSlash(sub)), 0o755); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return &Dir{dir: abs}, nil
}

// path is where name is.
func (d *Dir) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.dir, filepath.FromSlash(name)), nil
}

// Get implements Store.
func (d *Dir) Get(_ context.Context, name string) ([]byte, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Put implements Store: the file is replaced atomically (fsx).
func (d *Dir) Put(_ context.Context, name string, data []byte) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := ensureDir(filepath.Dir(p)); err != nil {
		return err
	}
	return fsx.WriteFileAtomic(p, data, 0o644)
}

// PutObject implements Store: fill writes into a temporary directory next
// to the object's, which is synced and renamed into place.
func (d *Dir) PutObject(ctx context.Context, name string, fill func(dir string) error) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if ok, err := d.HasObject(ctx, name); ok || err != nil {
		return err
	}
	if err := ensureDir(filepath.Dir(p)); err != nil {
		return err
	}
	err = fsx.WriteDirNew(p, fill)
	if errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(p); serr == nil {
			return nil // another writer won the rename
		}
	}
	return err
}

// HasObject implements Store.
func (d *Dir) HasObject(_ context.Context, name string) (bool, error) {
	p, err := d.path(name)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// OpenObject implements Store: the object's own directory, read in place.
// A Dir keeps no digests of its files: the cache checks what it decodes.
func (d *Dir) OpenObject(_ context.Context, name string) (*Object, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return &Object{Dir: p}, nil
}

// List implements Store.
func (d *Dir) List(_ context.Context, dir string) ([]Item, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(d.dir, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		// fsx's temporaries, and the names of lopper before fsx
		temp := strings.HasPrefix(n, ".") && (fsx.IsTemp(n) || strings.Contains(n, ".tmp-"))
		out = append(out, Item{Name: n, Dir: e.IsDir(), Temp: temp})
	}
	return out, nil
}

// Stat implements Store.
func (d *Dir) Stat(_ context.Context, name string) (int64, time.Time, error) {
	p, err := d.path(name)
	if err != nil {
		return 0, time.Time{}, err
	}
	if _, err := os.Lstat(p); err != nil {
		return 0, time.Time{}, err
	}
	var size int64
	var newest time.Time
	_ = filepath.WalkDir(p, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // a size is a report, not a reason to stop
		}
		if fi, ierr := e.Info(); ierr == nil {
			if fi.Mode().IsRegular() {
				size += fi.Size()
			}
			if fi.ModTime().After(newest) {
				newest = fi.ModTime()
			}
		}
		return nil
	})
	return size, newest, nil
}

// Delete implements Store: name is renamed to a temporary name first, so
// no reader ever sees it half deleted.
func (d *Dir) Delete(_ context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(p), fsx.TempPrefix(filepath.Base(p))+"removed-"+fmt.Sprint(time.Now().UnixNano()))
	if err := os.Rename(p, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(tmp)
}

// Lock implements Store with an advisory lock (flock) on .lock.
func (d *Dir) Lock(exclusive, wait bool) (func(), error) {
	return fsx.Lock(filepath.Join(d.dir, dirLock), exclusive, wait)
}

// Clean implements Store: the temporaries that killed writers left (see
// fsx.RemoveStale: a live writer's are locked and kept), in the top
// directory and two levels below it, where blobs and objects are written
// (entries/ab/…, objects/cd/…), not inside objects.
func (d *Dir) Clean(context.Context) ([]string, error) {
	var removed []string
	var errs []error
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		r, err := fsx.RemoveStale(dir, "")
		removed = append(removed, r...)
		errs = append(errs, err)
		if depth == 2 {
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, e := range entries {
			if e.IsDir() && !fsx.IsTemp(e.Name()) {
				walk(filepath.Join(dir, e.Name()), depth+1)
			}
		}
	}
	walk(d.dir, 0)
	return removed, errors.Join(errs...)
}

// Location implements Store: the path of name.
func (d *Dir) Location(name string) string {
	return filepath.Join(d.dir, filepath.FromSlash(name))
}

// Dir implements Store.
func (d *Dir) Dir() string { return d.dir }

// URL implements Store: a local directory has none.
func (d *Dir) URL() string { return "" }

// Close implements Store.
func (d *Dir) Close() error { return nil }

// ensureDir creates dir when missing and makes its entry in the parent
// durable.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fsx.SyncDir(filepath.Dir(dir))
}
