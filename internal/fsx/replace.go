package fsx

import (
	"errors"
	"fmt"
	"os"
)

// ReplaceDir moves the finished directory tmp to dst, which must be in the
// same file system. A missing dst is a rename. An existing dst (the caller
// has checked with a Guard that it may go) is swapped with tmp in one atomic
// step where the system can (Linux renameat2 RENAME_EXCHANGE) and the old
// content, now under tmp's name, is removed; elsewhere dst is renamed aside
// first and restored if the second rename fails. Either way a crash leaves
// dst complete, old or new, and at worst a temporary entry that RemoveStale
// clears.
func ReplaceDir(tmp, dst string) error {
	fi, err := os.Lstat(dst)
	if errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, dst)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dst)
	}
	swapped, err := exchange(tmp, dst)
	if err != nil {
		return err
	}
	if swapped {
		return removeQuiet(tmp)
	}
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		if rerr := os.Rename(old, dst); rerr != nil {
			return fmt.Errorf("%w (and restoring the old directory from %s failed: %v)", err, old, rerr)
		}
		return err
	}
	return removeQuiet(old)
}
