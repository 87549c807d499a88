package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"lopper/internal/fsx"
)

// seal is an object's NAME/seal.json: whose files are the object's, and
// what each holds.
type seal struct {
	Schema int        `json:"schema"`
	Writer string     `json:"writer"`
	Files  []sealFile `json:"files"`
}

// sealFile is one file of an object: its path below the object, size and
// "sha256:…" digest.
type sealFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

const sealSchema = 1

// sealName is the seal's name of the object name.
func sealName(name string) string { return name + "/seal.json" }

// HasObject implements Store: the object is there when its seal is.
func (s *Bucket) HasObject(ctx context.Context, name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	ok, err := s.b.Exists(ctx, sealName(name))
	if err != nil && notFound(err) {
		return false, nil
	}
	return ok, s.wrap(sealName(name), err)
}

// PutObject implements Store: fill writes into a scratch directory, whose
// files are uploaded under NAME/WRITER/ and then sealed, if no other
// writer sealed the object first (then the uploads are removed).
func (s *Bucket) PutObject(ctx context.Context, name string, fill func(dir string) error) (err error) {
	if err := checkName(name); err != nil {
		return err
	}
	if ok, err := s.HasObject(ctx, name); ok || err != nil {
		return err
	}
	tmp, err := fsx.NewTempDir(filepath.Join(s.scratch, scratchBase))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, tmp.Discard()) }()
	if err := fill(tmp.Path); err != nil {
		return err
	}
	files, err := regularFiles(tmp.Path)
	if err != nil {
		return err
	}
	var w [8]byte
	if _, err := rand.Read(w[:]); err != nil {
		return err
	}
	sl := seal{Schema: sealSchema, Writer: hex.EncodeToString(w[:]), Files: []sealFile{}}
	mine := name + "/" + sl.Writer
	for _, rel := range files {
		f, err := s.upload(ctx, mine+"/"+rel, filepath.Join(tmp.Path, filepath.FromSlash(rel)))
		if err != nil {
			return errors.Join(err, s.Delete(context.WithoutCancel(ctx), mine))
		}
		f.Path = rel
		sl.Files = append(sl.Files, f)
	}
	data, err := json.MarshalIndent(sl, "", "  ")
	if err != nil {
		return err
	}
	err = s.b.WriteAll(ctx, sealName(name), append(data, '\n'), &blob.WriterOptions{IfNotExist: true})
	switch {
	case err == nil:
		return nil
	case gcerrors.Code(err) == gcerrors.FailedPrecondition: // another writer sealed it first: theirs it is
		return s.Delete(ctx, mine)
	}
	return errors.Join(s.wrap(sealName(name), err), s.Delete(context.WithoutCancel(ctx), mine))
}

// regularFiles lists the files below dir, relative, slash-separated and
// sorted; anything but regular files and directories is an error.
func regularFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file (an object holds files and directories only)", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(out)
	return out, err
}

// upload streams the file at path to the blob key and returns its size
// and digest as uploaded. A failed upload is aborted: nothing is written.
func (s *Bucket) upload(ctx context.Context, key, path string) (sealFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return sealFile{}, err
	}
	defer f.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, key, nil)
	if err != nil {
		return sealFile{}, s.wrap(key, err)
	}
	h := sha256.New()
	n, err := io.Copy(w, io.TeeReader(withProgress(ctx, f), h))
	if err != nil {
		cancel() // aborts the write
		return sealFile{}, errors.Join(fmt.Errorf("upload %s: %w", path, err), w.Close())
	}
	if err := w.Close(); err != nil {
		return sealFile{}, s.wrap(key, err)
	}
	return sealFile{Size: n, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

// OpenObject implements Store: the sealed files are downloaded into a
// scratch directory, each checked against its size and digest in the
// seal.
func (s *Bucket) OpenObject(ctx context.Context, name string) (_ *Object, err error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	raw, err := s.b.ReadAll(ctx, sealName(name))
	if err != nil {
		return nil, s.wrap(sealName(name), err)
	}
	sl, err := parseSeal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", s.Location(sealName(name)), ErrCorrupt, err)
	}
	tmp, err := fsx.NewTempDir(filepath.Join(s.scratch, scratchBase))
	if err != nil {
		return nil, err
	}
	for _, f := range sl.Files {
		if err := s.download(ctx, name+"/"+sl.Writer+"/"+f.Path, tmp.Path, f); err != nil {
			return nil, errors.Join(err, tmp.Discard())
		}
	}
	return &Object{Dir: tmp.Path, close: tmp.Discard}, nil
}

// parseSeal reads and checks a seal.
func parseSeal(raw []byte) (*seal, error) {
	var sl seal
	if err := json.Unmarshal(raw, &sl); err != nil {
		return nil, fmt.Errorf("unreadable seal: %v", err)
	}
	if sl.Schema != sealSchema {
		return nil, fmt.Errorf("seal schema %d, want %d", sl.Schema, sealSchema)
	}
	if len(sl.Writer) != 16 || !isLowerHex(sl.Writer) {
		return nil, fmt.Errorf("seal names writer %q", sl.Writer)
	}
	seen := map[string]bool{}
	for _, f := range sl.Files {
		if err := checkName(f.Path); err != nil || seen[f.Path] || f.Size < 0 {
			return nil, fmt.Errorf("seal lists file %q (size %d) twice or out of place", f.Path, f.Size)
		}
		seen[f.Path] = true
	}
	return &sl, nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// download copies the blob key into dir as f.Path, checking its size and
// digest against f.
func (s *Bucket) download(ctx context.Context, key, dir string, f sealFile) error {
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil && notFound(err) {
		return fmt.Errorf("%s: %w: the sealed file is missing", s.Location(key), ErrCorrupt)
	}
	if err != nil {
		return s.wrap(key, err)
	}
	defer r.Close()
	p := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, f.Size+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", s.Location(key), err)
	}
	switch {
	case n > f.Size:
		return fmt.Errorf("%s: %w: longer than the %d bytes sealed", s.Location(key), ErrCorrupt, f.Size)
	case n < f.Size:
		return fmt.Errorf("%s: %w: %d bytes, sealed with %d", s.Location(key), ErrCorrupt, n, f.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != f.Digest {
		return fmt.Errorf("%s: %w: digest %s, sealed with %s", s.Location(key), ErrCorrupt, got, f.Digest)
	}
	return nil
}
