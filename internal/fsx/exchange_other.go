//go:build !linux

package fsx

// exchange is not available here: the caller falls back to two renames.
func exchange(a, b string) (bool, error) { return false, nil }
