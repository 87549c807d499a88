//go:build unix

package pipeline

import (
	"errors"
	"os"
	"syscall"
)

// inode returns a file's inode number.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// errLocked is returned by lockFile when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockFile takes an advisory lock (flock) on path, a directory or a file
// (created if needed): exclusive or shared, failing with errLocked instead
// of waiting when wait is false. The kernel releases it when the process
// dies, so a killed run never leaves a stale lock behind.
func lockFile(path string, exclusive, wait bool) (unlock func(), err error) {
	var f *os.File
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		f, err = os.Open(path)
	} else {
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}

// lockHeld reports whether another open file description (this process's
// or another's) holds an exclusive lock on path, which must exist: it
// takes a shared lock for an instant, without waiting and without creating
// anything.
func lockHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close() // closing drops the probe's lock
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	}
	return false, err
}
