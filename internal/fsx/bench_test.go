package fsx

import (
	"strings"
	"testing"
)

// BenchmarkWriteFileAtomic measures one durable run.json-sized write (temp
// file, lock, fsync, rename, directory fsync).
func BenchmarkWriteFileAtomic(b *testing.B) {
	data := []byte(strings.Repeat("x", 16<<10))
	f := b.TempDir() + "/run.json"
	for b.Loop() {
		if err := WriteFileAtomic(f, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
