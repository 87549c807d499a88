package fsx

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path so that path holds either its old
// content or all of data, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic streams a file to path atomically: fill writes into a locked
// temporary file in the same directory, which is synced, renamed over path,
// and the directory synced. On any error the temporary file is removed and
// path is untouched.
func WriteAtomic(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix(filepath.Base(path))+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			err = errors.Join(err, removeQuiet(tmp))
		}
	}()
	// The lock marks the file as a live writer's for RemoveStale; it goes
	// with the descriptor.
	if lerr := lockFD(f, true); lerr != nil && !errors.Is(lerr, errUnsupported) {
		f.Close()
		return lerr
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return SyncDir(dir)
}

// removeQuiet removes path, ignoring only its absence.
func removeQuiet(path string) error {
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
