package eval

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// sharedDir returns the repository's ../shared directory (test data that
// the product never needs), or skips the test when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("cannot locate the test file")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Skipf("shared test data not found at %s", dir)
	}
	return dir
}
