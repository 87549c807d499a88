//go:build !unix

package model

import "os"

// mapFile reports no mapping, so files are read tensor by tensor.
func mapFile(f *os.File, size int64) ([]byte, error) { return nil, nil }

func unmapFile(b []byte) error { return nil }
