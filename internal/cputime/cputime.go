// Package cputime reads the calling thread's CPU time, for benchmarks that
// report rates in CPU time, which other load on a shared machine barely
// disturbs, unlike the wall clock.
package cputime

import "testing"

// Thread returns the CPU time (user + system) the calling OS thread has
// used, in seconds. Lock the goroutine to its thread
// (runtime.LockOSThread) around the measured work.
func Thread() (float64, error) { return thread() }

// Of returns Thread's seconds and fails tb when they cannot be read.
func Of(tb testing.TB) float64 {
	tb.Helper()
	s, err := Thread()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
