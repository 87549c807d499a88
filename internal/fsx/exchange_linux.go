package fsx

import (
	"errors"

	"golang.org/x/sys/unix"
)

// exchange swaps a and b atomically. It reports false, nil when the file
// system cannot, so the caller falls back to two renames.
func exchange(a, b string) (bool, error) {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP):
		return false, nil
	default:
		return false, err
	}
}
