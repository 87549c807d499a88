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
