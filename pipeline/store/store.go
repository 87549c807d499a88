// Package store is where lopper's stage cache keeps its bytes: a local
// directory (Dir, the default `.lopper/cache`) or a bucket (Bucket,
// gocloud.dev/blob: file:// on a shared file system, s3:// for any
// S3-compatible store, mem:// for tests), behind one interface, Store.
//
// A store holds two sorts of things under slash-separated names: blobs
// (small files read and written whole: the cache's entries and run logs)
// and objects (directory trees: encoded artifacts). Blobs are replaced
// atomically; an object becomes visible only when complete and is never
// replaced, so that a second writer of the same object is harmless. What
// the names mean (entries/, objects/, runs/, keys and digests) is the
// cache's business (package pipeline); a store knows nothing of stages,
// artifacts or models.
//
// It imports nothing of lopper's but internal/fsx, and uses the network
// only when opened on an s3:// URL.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Store holds the bytes of a content-addressed cache. Names are
// slash-separated, relative and clean ("entries/ab/….json"); a method given
// another name fails. Implementations are safe for concurrent use, also by
// several processes (and, for a bucket, machines) at once.
type Store interface {
	// Get returns the blob called name; an error wrapping fs.ErrNotExist
	// when there is none.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put writes data as the blob name, replacing what is there: readers
	// see the old contents or the new, never a part.
	Put(ctx context.Context, name string, data []byte) error

	// PutObject stores the files that fill writes into an empty local
	// directory as the object name. The object becomes visible (HasObject,
	// OpenObject) only when all of it is stored. When it is there already,
	// or another writer completes it first, PutObject returns nil and
	// keeps the first: objects are named by their contents' digest, so
	// one is as good as another.
	PutObject(ctx context.Context, name string, fill func(dir string) error) error
	// HasObject reports whether the object name is there, complete.
	HasObject(ctx context.Context, name string) (bool, error)
	// OpenObject makes the files of the object name readable in a local
	// directory until the Object is closed. An object that is not there
	// is an error wrapping fs.ErrNotExist; one whose files do not match
	// what was stored (a bucket checks each file's size and SHA-256) is an
	// error wrapping ErrCorrupt. Other errors (a network failure) say
	// nothing about the object.
	OpenObject(ctx context.Context, name string) (*Object, error)

	// List lists what is directly under the directory dir ("" for the
	// top), as os.ReadDir does, sorted by name: blobs, and as Dir the names
	// that go on with a slash (shards, objects). Leftovers of interrupted
	// writes are marked Temp. A directory that is not there lists empty.
	List(ctx context.Context, dir string) ([]Item, error)
	// Stat returns the total size of the blob or directory name (all
	// below it) and when it was last written (for a directory: the newest
	// of its files).
	Stat(ctx context.Context, name string) (size int64, modified time.Time, err error)
	// Delete removes the blob or directory name with everything below it;
	// an object becomes invisible before its files go. Deleting what is not
	// there is not an error.
	Delete(ctx context.Context, name string) error

	// Lock takes the store's lock, shared (runs) or exclusive (gc),
	// failing with fsx.ErrLocked when wait is false and another process
	// holds it. A store that cannot be locked (a bucket) returns at once:
	// its users rely on content addressing, digests read back and gc's
	// grace period instead.
	Lock(exclusive, wait bool) (unlock func(), err error)
	// Clean removes what killed processes left behind (temporary files a
	// dead writer held) and returns where they were.
	Clean(ctx context.Context) ([]string, error)

	// Location says where name is, for messages and reports: a path, or
	// for a bucket its URL (without query) and the name.
	Location(name string) string
	// Dir is the store's local directory ("" when it has none): outputs
	// must not be written into it.
	Dir() string
	// URL is the URL the store was opened with, "" for a local directory
	// (Dir); a run records it so that --resume finds the same store.
	URL() string
	// Close releases the store's resources.
	Close() error
}

// Item is one entry of a Store's List.
type Item struct {
	// Name is the entry's last element.
	Name string
	// Dir is set for a directory: a shard, an object, or anything else
	// that has names below it.
	Dir bool
	// Temp marks the leftover of an interrupted write (a temporary file
	// or directory of a writer): Clean and gc remove those of dead writers.
	Temp bool
}

// Object is an object's files in a local directory, until Close.
type Object struct {
	// Dir holds the object's files. It must not be modified.
	Dir   string
	close func() error
}

// Close releases the object's files (a bucket's downloaded copy is
// removed).
func (o *Object) Close() error {
	if o.close == nil {
		return nil
	}
	return o.close()
}

// ErrCorrupt marks an object whose stored files do not match what was
// written.
var ErrCorrupt = errors.New("corrupt")

// checkName refuses a name that is not relative, clean and slash-separated
// (a name must never reach outside the store).
func checkName(name string) error {
	if name == "" || !filepath.IsLocal(filepath.FromSlash(name)) || strings.Contains(name, `\`) ||
		filepath.ToSlash(filepath.Clean(filepath.FromSlash(name))) != name {
		return fmt.Errorf("store: invalid name %q", name)
	}
	return nil
}

// checkDir is checkName for List's dir, which may also be "" (the top).
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	return checkName(dir)
}

// Open opens the store at rawURL: file:///DIR (a directory, shared by the
// machines that mount it), s3://BUCKET?… (any S3-compatible store; see
// gocloud.dev/blob/s3blob for the query: region, endpoint,
// use_path_style, disable_https, profile, prefix=…) or mem:// (in memory:
// gone with the process, for tests). A local directory without a URL is
// OpenDir.
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return openBucket(ctx, rawURL, u)
}

// CheckURL reports what is wrong with a store URL that Open would refuse
// for its form, without opening anything.
func CheckURL(rawURL string) error {
	_, err := parseURL(rawURL)
	return err
}

// parseURL parses and checks a store URL.
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store URL: %w", err)
	}
	want := "want file:///DIR, s3://BUCKET?… or mem://"
	switch u.Scheme {
	case "file", "s3", "mem":
	case "":
		return nil, fmt.Errorf("store URL %q has no scheme: %s (a local cache directory is --cache-dir)", rawURL, want)
	default:
		return nil, fmt.Errorf("store URL %q: unsupported scheme %q: %s", rawURL, u.Scheme, want)
	}
	if u.Scheme == "file" && (u.Host != "" || !strings.HasPrefix(u.Path, "/")) {
		return nil, fmt.Errorf("store URL %q: a file URL names an absolute directory, as file:///DIR", rawURL)
	}
	if u.Scheme == "s3" && u.Host == "" {
		return nil, fmt.Errorf("store URL %q names no bucket (s3://BUCKET?…)", rawURL)
	}
	return u, nil
}

// LocalDir returns the directory of a file:// store URL, "" for any other
// URL (or one Open would refuse), without opening anything: what a command
// checks its outputs against before it creates anything.
func LocalDir(rawURL string) string {
	u, err := parseURL(rawURL)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}
