package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
)

// An input file or directory put into a store comes back, from a
// directory cache and from a bucket, as a copy with the same digest;
// progress counts every byte once; a symbolic link stores what it names; a second put stores nothing; a copy
// whose bytes do not match the digest is refused and not left behind.
func TestInputsRoundTrip(t *testing.T) {
	src := t.TempDir()
	for name, text := range map[string]string{"model/config.json": "{}", "model/w/a.bin": "0123456789", "model/.git/x": "skipped", "data.txt": "text"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(src, "model", "w", "a.bin"), filepath.Join(src, "link.txt")); err != nil {
		t.Fatal(err)
	}
	dirCache, err := pipeline.OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	memCache, err := pipeline.OpenCacheURL(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer memCache.Close()
	ctx := context.Background()
	for _, c := range []*pipeline.Cache{dirCache, memCache} {
		for _, in := range []struct {
			name string
			size int64
		}{{"model", 12}, {"data.txt", 4}, {"link.txt", 10}} {
			p := filepath.Join(src, in.name)
			d, err := pipeline.FileDigest(p)
			if err != nil {
				t.Fatal(err)
			}
			var sent int64
			if err := c.PutInput(ctx, p, d, func(n int64) { sent += n }); err != nil {
				t.Fatalf("%s: put %s: %v", c.Location(), in.name, err)
			}
			if sent != in.size {
				t.Errorf("%s: put %s reported %d bytes, want %d", c.Location(), in.name, sent, in.size)
			}
			if ok, err := c.HasInput(ctx, d); !ok || err != nil {
				t.Errorf("%s: %s is not there after put: %v", c.Location(), in.name, err)
			}
			sent = 0
			if err := c.PutInput(ctx, p, d, func(n int64) { sent += n }); err != nil || sent != 0 {
				t.Errorf("%s: second put of %s: %v, %d bytes", c.Location(), in.name, err, sent)
			}
			dst := filepath.Join(t.TempDir(), in.name)
			if err := c.FetchInput(ctx, d, dst); err != nil {
				t.Fatalf("%s: fetch %s: %v", c.Location(), in.name, err)
			}
			if got, err := pipeline.FileDigest(dst); err != nil || got != d {
				t.Errorf("%s: the copy of %s has digest %s (%v), want %s", c.Location(), in.name, got, err, d)
			}
		}
	}
	// Damage the directory cache's copy of data.txt.
	d, err := pipeline.FileDigest(filepath.Join(src, "data.txt"))
	if err != nil {
		t.Fatal(err)
	}
	h := strings.TrimPrefix(d, "sha256:")
	if err := os.WriteFile(filepath.Join(dirCache.Dir(), "inputs", h[:2], h, "file"), []byte("TEXT"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "data.txt")
	if err := dirCache.FetchInput(ctx, d, dst); err == nil || !strings.Contains(err.Error(), "holds digest") {
		t.Errorf("a damaged input was fetched: %v", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("the damaged copy was left at %s: %v", dst, err)
	}
}
