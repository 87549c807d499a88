//go:build unix

package fsx

import (
	"errors"
	"path/filepath"
	"testing"
)

// Lock: a shared lock excludes an exclusive one and not another shared
// one; unlocking frees it.
func TestLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".lock")
	shared, err := Lock(p, false, false)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Lock(p, false, false)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := Lock(p, true, false); !errors.Is(err, ErrLocked) {
		t.Fatalf("exclusive lock under shared ones: %v, want ErrLocked", err)
	}
	shared()
	other()
	excl, err := Lock(p, true, false)
	if err != nil {
		t.Fatalf("exclusive lock when free: %v", err)
	}
	excl()
}
