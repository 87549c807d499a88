package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
	"lopper/pipeline/store"
)

// Input files in a store: a distributed executor's client puts the files
// and directories its recipe reads (Decl.Files) into the run's store, by
// their FileDigest, and its workers fetch them into a local directory of
// their own (FetchInput), so that no machine needs to see another's files.
// An input object holds `file` (a file) or `tree/…` (a directory's regular
// files, dot entries left out, as FileDigest reads them).

// cacheInputs is the store's directory of input objects.
const cacheInputs = "inputs"

// inputName is the store's name of the input whose FileDigest is digest.
func inputName(digest string) (string, error) {
	return digestName(cacheInputs, digest)
}

// HasInput reports whether the input of digest is in the store.
func (c *Cache) HasInput(ctx context.Context, digest string) (bool, error) {
	name, err := inputName(digest)
	if err != nil {
		return false, err
	}
	return c.s.HasObject(ctx, name)
}

// PutInput stores the file or directory at path, whose FileDigest is
// digest, as an input object, unless the store has it already. Files are
// streamed, never read whole into memory, and progress (when set) is told
// the bytes stored as they go. A store in a local directory gets copies,
// not links: the user may change the files in place later.
func (c *Cache) PutInput(ctx context.Context, path, digest string, progress func(n int64)) error {
	name, err := inputName(digest)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = func(int64) {}
	}
	// A bucket uploads what fill leaves in a scratch directory, which it
	// then removes: links do there, and the upload reports its progress.
	put := func(src, dst string) error { return copyFile(ctx, src, dst, progress) }
	if _, bucket := c.s.(*store.Bucket); bucket {
		ctx = store.WithProgress(ctx, progress)
		put = func(src, dst string) error { return linkOrCopy(ctx, src, dst) }
	}
	return c.s.PutObject(ctx, name, func(dir string) error {
		if !fi.IsDir() {
			return put(path, filepath.Join(dir, "file"))
		}
		files, err := treeFiles(path)
		if err != nil {
			return err
		}
		for _, rel := range files {
			if err := put(filepath.Join(path, rel), filepath.Join(dir, "tree", rel)); err != nil {
				return err
			}
		}
		return nil
	})
}

// FetchInput makes dst, which must not exist, a copy of the input of
// digest: a file or a directory, as it was put. It is written atomically
// (fsx) and its digest checked before it becomes visible. Files of a store
// in a local directory are linked where they can be (objects never change
// and the copy must not be modified either), else streamed.
func (c *Cache) FetchInput(ctx context.Context, digest, dst string) (err error) {
	name, err := inputName(digest)
	if err != nil {
		return err
	}
	o, err := c.s.OpenObject(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the input of digest %s is not in the store %s", digest, c.Location())
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, o.Close()) }()
	check := func(got string) error {
		if got != digest {
			return fmt.Errorf("%s holds digest %s, want %s", c.s.Location(name), got, digest)
		}
		return nil
	}
	if fi, err := os.Stat(filepath.Join(o.Dir, "file")); err == nil && fi.Mode().IsRegular() {
		return fsx.WriteAtomic(dst, 0o644, func(w io.Writer) error {
			f, err := os.Open(filepath.Join(o.Dir, "file"))
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(io.MultiWriter(w, h), ctxReader{ctx, f, nil}); err != nil {
				return err
			}
			return check("sha256:" + hex.EncodeToString(h.Sum(nil)))
		})
	}
	return fsx.WriteDirNew(dst, func(tmp string) error {
		tree := filepath.Join(o.Dir, "tree")
		files, err := treeFiles(tree)
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // an empty directory has no tree
			return err
		}
		for _, rel := range files {
			if err := linkOrCopy(ctx, filepath.Join(tree, rel), filepath.Join(tmp, rel)); err != nil {
				return err
			}
		}
		d, err := FileDigest(tmp)
		if err != nil {
			return err
		}
		return check(d)
	})
}

// linkOrCopy makes dst (its directory created) a hard link to the file
// src names (symbolic links followed), or where that cannot be (another
// file system), a copy.
func linkOrCopy(ctx context.Context, src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	if os.Link(real, dst) == nil {
		return nil
	}
	return copyFile(ctx, src, dst, nil)
}

// copyFile streams src to the new file dst, its directory created,
// telling progress (when set) the bytes copied as it goes.
func copyFile(ctx context.Context, src, dst string, progress func(n int64)) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, ctxReader{ctx, in, progress})
	return errors.Join(err, out.Close())
}

// ctxReader stops reading once ctx is done, and tells progress (when
// set) what it read.
type ctxReader struct {
	ctx      context.Context
	r        io.Reader
	progress func(n int64)
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	if n > 0 && r.progress != nil {
		r.progress(int64(n))
	}
	return n, err
}

// cacheWork is the store's directory of what stages wrote on workers: the
// run directory each had there (stages/PATH, outputs), for the run's own
// machine to fetch into its run directory.
const cacheWork = "work"

// workName is the store's name of the work directory of the stage
// instance path of the run run, as its attempt left it: below the run's
// directory (transferDir), which `lopper cache gc` keeps with the run.
func workName(run, path string, attempt int) string {
	h := sha256.Sum256([]byte(path))
	return fmt.Sprintf("%s/%s-%d", transferDir(cacheWork, run), hex.EncodeToString(h[:]), attempt)
}

// PutWorkDir stores the files below dir, what the stage instance path of
// the run run (any name that tells runs apart) wrote into its run
// directory on a worker in its attempt, for FetchWorkDir.
func (c *Cache) PutWorkDir(ctx context.Context, run, path string, attempt int, dir string) error {
	return c.s.PutObject(ctx, workName(run, path, attempt), func(tmp string) error {
		files, err := treeFiles(dir)
		if err != nil {
			return err
		}
		for _, rel := range files {
			if err := linkOrCopy(ctx, filepath.Join(dir, rel), filepath.Join(tmp, rel)); err != nil {
				return err
			}
		}
		return nil
	})
}

// FetchWorkDir writes the files PutWorkDir stored into dst, the run
// directory (directories created as needed, each file replaced
// atomically), and reports false when there are none.
func (c *Cache) FetchWorkDir(ctx context.Context, run, path string, attempt int, dst string) (_ bool, err error) {
	name := workName(run, path, attempt)
	if ok, err := c.s.HasObject(ctx, name); !ok || err != nil {
		return false, err
	}
	o, err := c.s.OpenObject(ctx, name)
	if err != nil {
		return false, err
	}
	defer func() { err = errors.Join(err, o.Close()) }()
	files, err := treeFiles(o.Dir)
	if err != nil {
		return false, err
	}
	for _, rel := range files {
		p := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		err := fsx.WriteAtomic(p, 0o644, func(w io.Writer) error {
			f, err := os.Open(filepath.Join(o.Dir, rel))
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, ctxReader{ctx, f, nil})
			return err
		})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}
