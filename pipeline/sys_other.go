//go:build !unix

package pipeline

import (
	"errors"
	"os"
)

func inode(os.FileInfo) uint64 { return 0 }

// lockHeld cannot tell without flock.
func lockHeld(path string) (bool, error) {
	return false, errors.New("advisory locks are not supported here")
}
