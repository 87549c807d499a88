//go:build !linux

package model

// releaseMapped does nothing where the advice is not wired up (see the
// Linux version).
func releaseMapped(b []byte, lo, hi int) error { return nil }
