//go:build !linux

package model

// releaseMapped does nothing where the advice is not wired up (see the
// Linux version).
func releaseMapped(b []byte, lo, hi int) error { return nil }

// releaseWeights does nothing where lazy models' weights are a plain
// allocation (see allocWeights).
func releaseWeights(raw []byte, lo, hi int) error { return nil }
