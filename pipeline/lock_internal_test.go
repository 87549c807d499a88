package pipeline

import (
	"strings"
	"testing"
)

// A run directory is locked while a run uses it: a second run (or a
// --resume) of the same directory is refused, and the lock goes with the
// holder.
func TestRunDirLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockRunDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another lopper") {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	again, err := lockRunDir(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

// gc needs the cache to itself: it refuses while a run is using it.
func TestCacheGCWaitsForNoRun(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cr, err := c.beginRun(t.TempDir(), "r.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GC(GCOptions{KeepLast: 1}); err == nil || !strings.Contains(err.Error(), "in use by a running lopper") {
		t.Errorf("gc during a run: %v", err)
	}
	cr.end()
	if rep, err := c.GC(GCOptions{KeepLast: 1}); err != nil || rep.Runs != 1 || rep.RunsRemoved != 0 {
		t.Errorf("gc after the run: %+v %v", rep, err)
	}
}
