package fsx

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// SyncDir makes the renames and creations in dir durable. File systems that
// cannot sync a directory (EINVAL, ENOTSUP) are accepted as they are: the
// data files themselves were synced.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, syscall.ENOTSUP) {
		return fmt.Errorf("sync %s: %w", dir, serr)
	}
	return cerr
}
