// Package storetest gives tests every kind of store.Store to run against:
// a local directory, a file:// bucket, a mem:// bucket, and an s3://
// bucket served in-process by gofakes3 on 127.0.0.1 for the test's
// lifetime. Only tests import it.
package storetest

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"lopper/pipeline/store"
)

// Backend is one kind of store, with its storage made for one test.
type Backend struct {
	// Name is the kind: dir, file, mem or s3.
	Name string
	// URL is what store.Open opens; "" for dir and mem (whose memory
	// only this Backend's Open reaches).
	URL string
	// Root is the directory of dir and file.
	Root string
	// Raw is the bucket itself (nil for dir), for tests that damage what
	// a store wrote.
	Raw *blob.Bucket
	// Scratch is the local directory where buckets stage and download
	// objects: it is empty whenever no object is open or being written.
	Scratch string

	open func(tb testing.TB) store.Store
}

// Open opens a new handle on the backend's storage, closed at the end of
// the test: what one handle wrote, another reads.
func (b *Backend) Open(tb testing.TB) store.Store {
	tb.Helper()
	s := b.open(tb)
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close %s store: %v", b.Name, err)
		}
	})
	return s
}

// s3Bucket is the bucket gofakes3 serves.
const s3Bucket = "lopper-test"

// serverLifetime bounds how long a gofakes3 server lives if its test's
// cleanup never comes.
const serverLifetime = 10 * time.Minute

// Backends returns the four backends, each with storage of its own below
// tb's temporary directory (or in memory). It sets environment variables
// (TMPDIR: the scratch directory; AWS_*: a fake identity, no config
// files, no instance metadata), so the test must not be parallel.
func Backends(tb testing.TB) []*Backend {
	tb.Helper()
	scratch := tb.TempDir()
	tb.Setenv("TMPDIR", scratch)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "lopper", "AWS_SECRET_ACCESS_KEY": "lopper-secret", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": filepath.Join(scratch, "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(scratch, "none"),
	} {
		tb.Setenv(k, v)
	}
	dir := filepath.Join(tb.TempDir(), "cache")
	files := filepath.Join(tb.TempDir(), "bucket")
	mem := memblob.OpenBucket(nil)
	tb.Cleanup(func() { mem.Close() })
	s3URL := startS3(tb)
	out := []*Backend{
		{Name: "dir", Root: dir, open: func(tb testing.TB) store.Store {
			s, err := store.OpenDir(dir)
			if err != nil {
				tb.Fatal(err)
			}
			return s
		}},
		{Name: "file", URL: "file://" + filepath.ToSlash(files), Root: files},
		{Name: "mem", Raw: mem, open: func(testing.TB) store.Store {
			return store.NewBucket(mem, store.BucketOptions{Where: "mem://", Scratch: scratch})
		}},
		{Name: "s3", URL: s3URL},
	}
	for _, b := range out {
		b.Scratch = scratch
		if b.URL == "" {
			continue
		}
		b.open = func(tb testing.TB) store.Store {
			s, err := store.Open(context.Background(), b.URL)
			if err != nil {
				tb.Fatal(err)
			}
			return s
		}
		rawURL := b.URL
		if b.Name == "file" {
			rawURL += "?metadata=skip&create_dir=1"
		}
		raw, err := blob.OpenBucket(context.Background(), rawURL)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { raw.Close() })
		b.Raw = raw
	}
	return out
}

// startS3 starts gofakes3 (in memory) on 127.0.0.1 with one bucket and
// returns the bucket's s3:// URL. The server stops at the end of the test,
// or after serverLifetime.
func startS3(tb testing.TB) string {
	tb.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket(s3Bucket); err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(mem).Server()) // 127.0.0.1, a free port
	var once sync.Once
	stop := func() { once.Do(ts.Close) }
	timer := time.AfterFunc(serverLifetime, stop)
	tb.Cleanup(func() {
		timer.Stop()
		stop()
	})
	return "s3://" + s3Bucket + "?endpoint=" + ts.URL + "&use_path_style=true&disable_https=true&region=us-east-1"
}

// ScratchLeft lists the objects that stores left staged or downloaded in
// the scratch directory (which, as TMPDIR, holds the test's temporary
// directories too).
func (b *Backend) ScratchLeft(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir(b.Scratch)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".lopper-object") {
			out = append(out, e.Name())
		}
	}
	return out
}
