package pipeline

import (
	"os"
	"strings"
)

// BuildID identifies the running program in cache keys and lockfiles: its
// version string, and for development versions (containing "dev") also a
// digest of the executable, since code changes without a version bump must
// not reuse results. Hashing the executable costs a read of it: callers
// compute it once.
func BuildID(version string) string {
	if !strings.Contains(version, "dev") {
		return version
	}
	exe, err := os.Executable()
	if err != nil {
		return version + "+unknown-executable"
	}
	d, err := FileDigest(exe)
	if err != nil {
		return version + "+unknown-executable"
	}
	return version + "+" + strings.TrimPrefix(d, "sha256:")[:12]
}
