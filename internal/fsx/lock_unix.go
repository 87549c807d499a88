//go:build unix

package fsx

import (
	"errors"
	"os"
	"syscall"
)

// lockFD takes an advisory exclusive lock on f's file or directory. With
// wait false it fails with errBusy when another process holds it. The
// kernel drops the lock when the descriptor is closed or the process dies.
func lockFD(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errBusy
		case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EOPNOTSUPP):
			return errUnsupported
		default:
			return err
		}
	}
}

// Lock takes an advisory lock (flock) on path, a directory or a file
// (created if needed): exclusive or shared, failing with ErrLocked instead
// of waiting when wait is false. The kernel releases it when the process
// dies, so a killed process never leaves a stale lock behind; unlock
// releases it earlier.
func Lock(path string, exclusive, wait bool) (unlock func(), err error) {
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
			return nil, ErrLocked
		}
		return nil, err
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}
