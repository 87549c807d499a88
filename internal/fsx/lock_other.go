//go:build !unix

package fsx

import "os"

// lockFD is unsupported here: RemoveStale then never removes anything.
func lockFD(f *os.File, wait bool) error { return errUnsupported }
