package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// FileDigest returns "sha256:…" of a file's contents, or of a directory
// tree: the sorted relative paths of its regular files with their contents'
// digests. Entries whose names start with "." (version-control data,
// editors' files, the temporary directories of interrupted atomic writes)
// are left out. Symbolic links are followed.
//
// Digests are remembered per process by path, size, modification time and
// inode, so a model directory read by several stages is hashed once.
func FileDigest(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return fileContentDigest(path, fi)
	}
	files, err := treeFiles(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "lopper tree v1\n")
	for _, rel := range files {
		p := filepath.Join(path, rel)
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		d, err := fileContentDigest(p, fi)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s\n", filepath.ToSlash(rel), d)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// FileSize returns the size of a file, or of a directory tree's files as
// FileDigest reads them.
func FileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return 0, err
	case !fi.IsDir():
		return fi.Size(), nil
	}
	files, err := treeFiles(path)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, rel := range files {
		fi, err := os.Stat(filepath.Join(path, rel))
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// treeFiles lists the regular files below dir (following links), relative
// and sorted, skipping dot entries.
func treeFiles(dir string) ([]string, error) {
	var out []string
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		if depth > 64 {
			return fmt.Errorf("%s: directories nested more than 64 deep (a link cycle?)", filepath.Join(dir, rel))
		}
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			r := filepath.Join(rel, e.Name())
			fi, err := os.Stat(filepath.Join(dir, r))
			if err != nil {
				return err
			}
			switch {
			case fi.IsDir():
				if err := walk(r, depth+1); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				out = append(out, r)
			}
		}
		return nil
	}
	if err := walk("", 0); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// fileIdentity is what the digest memo is keyed by: a file whose size,
// modification time and inode are unchanged is taken to be unchanged.
type fileIdentity struct {
	path    string
	size    int64
	modTime int64
	ino     uint64
}

var fileDigests sync.Map // fileIdentity → string

func fileContentDigest(path string, fi os.FileInfo) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	id := fileIdentity{path: abs, size: fi.Size(), modTime: fi.ModTime().UnixNano(), ino: inode(fi)}
	if d, ok := fileDigests.Load(id); ok {
		return d.(string), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))
	fileDigests.Store(id, d)
	return d, nil
}
