package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"lopper/internal/fsx"
	"lopper/pipeline/store"
	"lopper/pipeline/store/storetest"
)

// eachBackend runs f against every kind of store.
func eachBackend(t *testing.T, f func(t *testing.T, b *storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

// eachBucket runs f against every kind of bucket (not the directory).
func eachBucket(t *testing.T, f func(t *testing.T, b *storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		if b.Raw != nil {
			t.Run(b.Name, func(t *testing.T) { f(t, b) })
		}
	}
}

// writeFiles returns a fill function writing files (path → contents).
func writeFiles(files map[string]string) func(dir string) error {
	return func(dir string) error {
		for p, data := range files {
			full := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

// readObject opens an object and returns its files, closing it.
func readObject(t *testing.T, s store.Store, name string) (map[string]string, error) {
	t.Helper()
	o, err := s.OpenObject(context.Background(), name)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	err = filepath.WalkDir(o.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(o.Dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	return files, errors.Join(err, o.Close())
}

func TestBlobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		s := b.Open(t)
		if _, err := s.Get(ctx, "entries/ab/x.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("get of a missing blob: %v, want fs.ErrNotExist", err)
		}
		for _, data := range []string{"one", "two, replacing one"} {
			if err := s.Put(ctx, "entries/ab/x.json", []byte(data)); err != nil {
				t.Fatal(err)
			}
			// Another handle (another process) sees it.
			got, err := b.Open(t).Get(ctx, "entries/ab/x.json")
			if err != nil || string(got) != data {
				t.Fatalf("get: %q %v, want %q", got, err, data)
			}
		}
		for _, bad := range []string{"", "/abs", "../up", "a/../b", "a//b", "a/", `a\b`, "./a"} {
			if err := s.Put(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "invalid name") {
				t.Errorf("put %q: %v, want an invalid name", bad, err)
			}
		}
	})
}

func TestObjectVisibleOnlyWhenComplete(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		s := b.Open(t)
		want := map[string]string{"value.txt": "0.75", "model/config.json": "{}", "model/w.bin": strings.Repeat("x", 1<<16)}
		name := "objects/cd/" + strings.Repeat("c", 64)
		// A writer that fails leaves nothing.
		if err := s.PutObject(ctx, name, func(dir string) error {
			if err := writeFiles(want)(dir); err != nil {
				return err
			}
			return errors.New("encoder failed")
		}); err == nil || !strings.Contains(err.Error(), "encoder failed") {
			t.Fatalf("failed fill: %v", err)
		}
		if ok, err := s.HasObject(ctx, name); ok || err != nil {
			t.Fatalf("after a failed write: has %v %v", ok, err)
		}
		err := s.PutObject(ctx, name, func(dir string) error {
			if err := writeFiles(want)(dir); err != nil {
				return err
			}
			other := b.Open(t) // while it is being written, nobody sees it
			if ok, err := other.HasObject(ctx, name); ok || err != nil {
				return fmt.Errorf("visible while written: %v %v", ok, err)
			}
			if _, err := readObject(t, other, name); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("open while written: %v, want fs.ErrNotExist", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		other := b.Open(t)
		if ok, err := other.HasObject(ctx, name); !ok || err != nil {
			t.Fatalf("has: %v %v", ok, err)
		}
		got, err := readObject(t, other, name)
		if err != nil || !mapsEqual(got, want) {
			t.Fatalf("object: %v %v, want %v", keys(got), err, keys(want))
		}
		// Stored is stored: a second PutObject does not call fill.
		if err := s.PutObject(ctx, name, func(string) error { return errors.New("called") }); err != nil {
			t.Errorf("second put: %v", err)
		}
		if left := b.ScratchLeft(t); len(left) != 0 {
			t.Errorf("scratch directory holds %v", left)
		}
	})
}

// Writers racing to store the same object (another process computing the
// same artifact) all succeed, and the object is one writer's, whole.
func TestConcurrentWritersOfOneObject(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		name := "objects/ab/" + strings.Repeat("a", 64)
		const writers = 4
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			s := b.Open(t)
			wg.Go(func() {
				errs[i] = s.PutObject(ctx, name, writeFiles(map[string]string{"a.txt": fmt.Sprint("writer ", i), "b.txt": fmt.Sprint(i)}))
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		got, err := readObject(t, b.Open(t), name)
		if err != nil {
			t.Fatal(err)
		}
		if got["a.txt"] != "writer "+got["b.txt"] || len(got) != 2 {
			t.Errorf("object mixes writers: %v", got)
		}
		if b.Raw != nil { // the losers removed their uploads
			items, err := b.Open(t).List(ctx, name)
			if err != nil || len(items) != 2 {
				t.Errorf("below the object: %v %v, want the seal and one writer's files", items, err)
			}
		}
	})
}

// A bucket checks every file it downloads against the seal. (A directory
// keeps no digests of its files: the cache checks what it decodes, see
// pipeline's tests.)
func TestBucketDetectsDamagedObjects(t *testing.T) {
	eachBucket(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		s := b.Open(t)
		damage := map[string]func(seal, file string) error{
			"same size":   func(_, f string) error { return b.Raw.WriteAll(ctx, f, []byte("0.76"), nil) },
			"truncated":   func(_, f string) error { return b.Raw.WriteAll(ctx, f, []byte("0."), nil) },
			"longer":      func(_, f string) error { return b.Raw.WriteAll(ctx, f, []byte("0.750"), nil) },
			"file gone":   func(_, f string) error { return b.Raw.Delete(ctx, f) },
			"seal broken": func(sl, _ string) error { return b.Raw.WriteAll(ctx, sl, []byte(`{"schema":1,`), nil) },
			"seal escapes": func(sl, _ string) error {
				return b.Raw.WriteAll(ctx, sl, []byte(`{"schema":1,"writer":"0123456789abcdef","files":[{"path":"../x","size":1}]}`), nil)
			},
		}
		i := 0
		for what, f := range damage {
			i++
			name := "objects/ab/" + fmt.Sprintf("%064x", i)
			if err := s.PutObject(ctx, name, writeFiles(map[string]string{"value.txt": "0.75"})); err != nil {
				t.Fatal(err)
			}
			items, err := s.List(ctx, name)
			if err != nil || len(items) != 2 || !items[0].Dir {
				t.Fatalf("%s: %v %v", what, items, err)
			}
			if err := f(name+"/seal.json", name+"/"+items[0].Name+"/value.txt"); err != nil {
				t.Fatal(err)
			}
			if _, err := readObject(t, s, name); !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("%s: %v, want ErrCorrupt", what, err)
			}
		}
		if left := b.ScratchLeft(t); len(left) != 0 {
			t.Errorf("scratch directory holds %v", left)
		}
	})
}

// A writer killed after uploading some files, before the seal, leaves an
// object that is not there; a later writer stores it. (A directory's
// writer renames the whole object into place.)
func TestBucketKilledWriterLeavesNoObject(t *testing.T) {
	eachBucket(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		name := "objects/ab/" + strings.Repeat("b", 64)
		if err := b.Raw.WriteAll(ctx, name+"/0123456789abcdef/value.txt", []byte("half"), nil); err != nil {
			t.Fatal(err)
		}
		s := b.Open(t)
		if ok, err := s.HasObject(ctx, name); ok || err != nil {
			t.Fatalf("has: %v %v", ok, err)
		}
		if _, err := readObject(t, s, name); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("open: %v, want fs.ErrNotExist", err)
		}
		if err := s.PutObject(ctx, name, writeFiles(map[string]string{"value.txt": "whole"})); err != nil {
			t.Fatal(err)
		}
		if got, err := readObject(t, s, name); err != nil || got["value.txt"] != "whole" {
			t.Fatalf("object %v %v", got, err)
		}
	})
}

func TestListStatDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		ctx := context.Background()
		s := b.Open(t)
		obj := "objects/cd/" + strings.Repeat("d", 64)
		if err := s.PutObject(ctx, obj, writeFiles(map[string]string{"v.txt": "12345", "sub/w.txt": "678"})); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"entries/ab/1.json", "entries/ab/2.json", "runs/r.json"} {
			if err := s.Put(ctx, n, []byte("0123456789")); err != nil {
				t.Fatal(err)
			}
		}
		if items, err := s.List(ctx, "nothing/here"); err != nil || len(items) != 0 {
			t.Errorf("list of a missing directory: %v %v", items, err)
		}
		if got := names(t, s, ""); !slices.Contains(got, "entries/") || !slices.Contains(got, "objects/") || !slices.Contains(got, "runs/") {
			t.Errorf("top: %v", got)
		}
		if got := names(t, s, "entries/ab"); !slices.Equal(got, []string{"1.json", "2.json"}) {
			t.Errorf("entries/ab: %v", got)
		}
		if got := names(t, s, "objects/cd"); !slices.Equal(got, []string{strings.Repeat("d", 64) + "/"}) {
			t.Errorf("objects/cd: %v", got)
		}
		if n, mod, err := s.Stat(ctx, "entries/ab/1.json"); n != 10 || mod.IsZero() || err != nil {
			t.Errorf("stat of a blob: %d %v %v", n, mod, err)
		}
		n, _, err := s.Stat(ctx, obj)
		if err != nil || n < 8 { // the files, and a bucket's seal
			t.Errorf("stat of an object: %d %v", n, err)
		}
		if n, _, err := s.Stat(ctx, "entries"); n != 20 || err != nil {
			t.Errorf("stat of a directory: %d %v", n, err)
		}
		if _, _, err := s.Stat(ctx, "entries/zz"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat of nothing: %v", err)
		}
		for _, n := range []string{obj, "entries/ab/1.json", "entries/ab/nothing.json"} {
			if err := s.Delete(ctx, n); err != nil {
				t.Errorf("delete %s: %v", n, err)
			}
		}
		if ok, err := s.HasObject(ctx, obj); ok || err != nil {
			t.Errorf("deleted object: has %v %v", ok, err)
		}
		if got := names(t, s, "objects/cd"); len(got) != 0 {
			t.Errorf("objects/cd after delete: %v", got)
		}
		if got := names(t, s, "entries/ab"); !slices.Equal(got, []string{"2.json"}) {
			t.Errorf("entries/ab after delete: %v", got)
		}
	})
}

// names lists dir, directories with a trailing slash.
func names(t *testing.T, s store.Store, dir string) []string {
	t.Helper()
	items, err := s.List(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if it.Temp {
			continue
		}
		if it.Dir {
			it.Name += "/"
		}
		out = append(out, it.Name)
	}
	return out
}

func TestLockAndClean(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s := b.Open(t)
		unlock, err := s.Lock(false, false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Open(t).Lock(true, false)
		if b.Raw == nil && !errors.Is(err, fsx.ErrLocked) {
			t.Errorf("exclusive lock while a shared one is held: %v, want ErrLocked", err)
		}
		if b.Raw != nil && err != nil {
			t.Errorf("a bucket has no locks, got %v", err)
		}
		unlock()
		// A killed process's temporary directory: no live writer locks it.
		stale := filepath.Join(b.Scratch, fsx.TempPrefix("lopper-object")+"1")
		if b.Raw == nil {
			stale = filepath.Join(b.Root, "objects", "ab", fsx.TempPrefix("obj")+"1")
		}
		if err := os.MkdirAll(stale, 0o755); err != nil {
			t.Fatal(err)
		}
		removed, err := s.Clean(context.Background())
		if err != nil || !slices.Equal(removed, []string{stale}) {
			t.Errorf("clean: %v %v, want %s", removed, err, stale)
		}
	})
}

func TestOpenRefusesBadURLs(t *testing.T) {
	for url, want := range map[string]string{
		"/some/dir":          "has no scheme",
		"gs://bucket":        `unsupported scheme "gs"`,
		"file://relative/x":  "absolute directory",
		"file:relative":      "absolute directory",
		"s3://?region=x":     "names no bucket",
		"file:///tmp/%zzbad": "store URL",
	} {
		if _, err := store.Open(context.Background(), url); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("open %s: %v, want %q", url, err, want)
		}
	}
	if got := store.LocalDir("file:///srv/cache"); got != filepath.FromSlash("/srv/cache") {
		t.Errorf("LocalDir: %q", got)
	}
	if got := store.LocalDir("s3://b"); got != "" {
		t.Errorf("LocalDir of s3: %q", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
