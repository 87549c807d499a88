package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/memblob"  // mem:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
	"gocloud.dev/gcerrors"

	"lopper/internal/fsx"
)

// Bucket is a Store in a gocloud.dev/blob bucket. A blob is a bucket blob
// (writers commit on Close, so a reader sees all of it or none). An object
// NAME is its files under NAME/WRITER/, WRITER a random name of the writer,
// and the seal NAME/seal.json, written last and only if absent: it lists
// each file with its size and SHA-256 and names the writer whose files
// are the object's. Without a seal there is no object; a writer that finds
// a seal already there removes its own files. Reading an object downloads
// its files into a local scratch directory, checking each against the
// seal. A bucket has no locks: see Store.Lock.
type Bucket struct {
	b       *blob.Bucket
	own     bool   // Close closes b
	url     string // as opened; "" for NewBucket
	where   string // Location's prefix
	dir     string // the directory of a file:// bucket
	scratch string // where objects are staged and downloaded
	// fileTemps: the bucket is a directory (fileblob), whose writers leave
	// NAME.HEX.tmp files when killed.
	fileTemps bool
}

// BucketOptions configure NewBucket.
type BucketOptions struct {
	// Where names the bucket in messages (Location); "" says "bucket".
	Where string
	// Scratch is the local directory where objects are staged before
	// upload and downloaded to be read; "" is os.TempDir() ($TMPDIR). It
	// needs room for the largest artifact.
	Scratch string
}

// scratchBase is the base name of the temporary directories (fsx) a
// Bucket makes in its scratch directory.
const scratchBase = "lopper-object"

// NewBucket returns the Store in b. Close does not close b.
func NewBucket(b *blob.Bucket, opts BucketOptions) *Bucket {
	return &Bucket{b: b, where: cmp.Or(opts.Where, "bucket"), scratch: cmp.Or(opts.Scratch, os.TempDir())}
}

// openBucket opens the bucket of a checked URL (see Open). A file:// URL
// gets lopper's defaults unless it says otherwise: the directory is
// created, no metadata files are written next to the blobs, and temporary
// files are made next to their blob (a rename from os.TempDir fails across
// file systems).
func openBucket(ctx context.Context, raw string, u *url.URL) (*Bucket, error) {
	open := *u
	where := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if p := u.Query().Get("prefix"); p != "" {
		where = strings.TrimSuffix(where, "/") + "/" + strings.TrimPrefix(p, "/")
	}
	dir := ""
	if u.Scheme == "file" {
		q := u.Query()
		for k, v := range map[string]string{"create_dir": "1", "metadata": "skip", "no_tmp_dir": "1"} {
			if !q.Has(k) {
				q.Set(k, v)
			}
		}
		open.RawQuery = q.Encode()
		dir = filepath.Clean(filepath.FromSlash(u.Path))
		where = dir
	}
	b, err := blob.OpenBucket(ctx, open.String())
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", where, err)
	}
	s := NewBucket(b, BucketOptions{Where: where})
	s.own, s.url, s.dir, s.fileTemps = true, raw, dir, u.Scheme == "file"
	return s, nil
}

// Get implements Store.
func (s *Bucket) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	data, err := s.b.ReadAll(ctx, name)
	return data, s.wrap(name, err)
}

// Put implements Store.
func (s *Bucket) Put(ctx context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.wrap(name, s.b.WriteAll(ctx, name, data, nil))
}

// wrap names the blob in an error and makes a missing blob fs.ErrNotExist.
func (s *Bucket) wrap(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case notFound(err):
		return fmt.Errorf("%s: %w", s.Location(name), fs.ErrNotExist)
	}
	return fmt.Errorf("%s: %w", s.Location(name), err)
}

// notFound reports whether err says that a blob is not there; a file://
// bucket says so as "not a directory" for a name below a blob's.
func notFound(err error) bool {
	return gcerrors.Code(err) == gcerrors.NotFound || errors.Is(err, syscall.ENOTDIR)
}

// List implements Store.
func (s *Bucket) List(ctx context.Context, dir string) ([]Item, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var out []Item
	it := s.b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, s.wrap(dir, err)
		}
		n := strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), "/")
		out = append(out, Item{Name: n, Dir: o.IsDir, Temp: s.fileTemps && !o.IsDir && fileblobTemp.MatchString(n)})
	}
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// fileblobTemp matches the temporary files of fileblob's writers.
var fileblobTemp = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

// walk calls fn for every blob at or below name (name itself, then
// name/…).
func (s *Bucket) walk(ctx context.Context, name string, fn func(key string, size int64, mod time.Time) error) error {
	a, err := s.b.Attributes(ctx, name)
	switch {
	case err == nil:
		if err := fn(name, a.Size, a.ModTime); err != nil {
			return err
		}
	case !notFound(err):
		return s.wrap(name, err)
	}
	it := s.b.List(&blob.ListOptions{Prefix: name + "/"})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return s.wrap(name, err)
		}
		if err := fn(o.Key, o.Size, o.ModTime); err != nil {
			return err
		}
	}
}

// Stat implements Store.
func (s *Bucket) Stat(ctx context.Context, name string) (int64, time.Time, error) {
	if err := checkName(name); err != nil {
		return 0, time.Time{}, err
	}
	var size int64
	var newest time.Time
	found := false
	err := s.walk(ctx, name, func(_ string, n int64, mod time.Time) error {
		found = true
		size += n
		if mod.After(newest) {
			newest = mod
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("%s: %w", s.Location(name), fs.ErrNotExist)
	}
	return size, newest, err
}

// Delete implements Store: an object's seal goes first.
func (s *Bucket) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := s.deleteBlob(ctx, sealName(name)); err != nil {
		return err
	}
	var keys []string
	if err := s.walk(ctx, name, func(key string, _ int64, _ time.Time) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.deleteBlob(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// deleteBlob deletes one blob; one that is not there is no error.
func (s *Bucket) deleteBlob(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil && !notFound(err) {
		return s.wrap(key, err)
	}
	return nil
}

// Lock implements Store: a bucket has no locks.
func (s *Bucket) Lock(bool, bool) (func(), error) { return func() {}, nil }

// Clean implements Store: the scratch directories of killed processes (a
// live process's are locked, see fsx.RemoveStale). A killed writer's
// files in the bucket are for gc: without a lock nothing tells them from
// a live writer's but their age.
func (s *Bucket) Clean(context.Context) ([]string, error) {
	return fsx.RemoveStale(s.scratch, scratchBase)
}

// Location implements Store.
func (s *Bucket) Location(name string) string {
	switch {
	case name == "":
		return s.where
	case s.dir != "":
		return filepath.Join(s.dir, filepath.FromSlash(name))
	}
	return strings.TrimSuffix(s.where, "/") + "/" + name
}

// Dir implements Store: a file:// bucket's directory, else "".
func (s *Bucket) Dir() string { return s.dir }

// URL implements Store.
func (s *Bucket) URL() string { return s.url }

// Close implements Store.
func (s *Bucket) Close() error {
	if !s.own {
		return nil
	}
	return s.b.Close()
}
