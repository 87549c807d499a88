package cputime

import (
	"runtime"
	"testing"
)

// Spinning on the locked thread advances its CPU time.
func TestThreadAdvances(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread CPU time is read on Linux only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := Thread()
	if err != nil {
		t.Fatal(err)
	}
	x := 0.0
	for i := 0; i < 20_000_000; i++ {
		x += float64(i & 7)
	}
	t1, err := Thread()
	if err != nil {
		t.Fatal(err)
	}
	if !(t1 > t0) || x == 0 {
		t.Errorf("thread CPU time %v → %v after a busy loop", t0, t1)
	}
}
