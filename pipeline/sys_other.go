//go:build !unix

package pipeline

import (
	"errors"
	"os"
)

func inode(os.FileInfo) uint64 { return 0 }

var errLocked = errors.New("locked by another process")

// lockFile is a no-op where flock is not available: concurrent runs on one
// run directory or cache are then not detected.
func lockFile(path string, exclusive, wait bool) (unlock func(), err error) {
	return func() {}, nil
}

// lockHeld cannot tell without flock.
func lockHeld(path string) (bool, error) {
	return false, errors.New("advisory locks are not supported here")
}
