//go:build !unix

package fsx

import "os"

// lockFD is unsupported here: RemoveStale then never removes anything.
func lockFD(f *os.File, wait bool) error { return errUnsupported }

// Lock is a no-op where flock is not available: concurrent users of a run
// directory or cache are then not detected.
func Lock(path string, exclusive, wait bool) (unlock func(), err error) {
	return func() {}, nil
}
