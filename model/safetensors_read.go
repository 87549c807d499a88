package model

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// stFile is an open safetensors file: memory-mapped where the platform
// allows, read piece by piece into one reused buffer otherwise. Either way
// the loader never holds a second full copy of the weights.
type stFile struct {
	path    string
	f       *os.File
	size    int64
	mapped  []byte // whole file, or nil when reading
	hdr     *stHeader
	scratch []byte
	mu      sync.Mutex // held while a tensor is read through scratch (no mapping)
}

// openSafetensors opens path and validates its header. Errors name the file.
func openSafetensors(path string) (*stFile, error) {
	if err := checkRegular(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := newSTFile(path, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

func newSTFile(path string, f *os.File) (*stFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	s := &stFile{path: path, f: f, size: fi.Size()}
	// A failed mapping (e.g. a file system without mmap) is not an error:
	// the file is then read with ReadAt.
	if m, err := mapFile(f, s.size); err == nil {
		s.mapped = m
	}
	var first8 []byte
	if s.size >= 8 {
		if first8, err = s.readAt(make([]byte, 8), 0, 8); err != nil {
			return nil, err
		}
	}
	n, err := headerLen(first8, s.size)
	if err != nil {
		return nil, err
	}
	js, err := s.readAt(make([]byte, n), 8, n)
	if err != nil {
		return nil, err
	}
	if s.hdr, err = parseHeaderJSON(js, s.size-8-n); err != nil {
		return nil, err
	}
	return s, nil
}

// readAt returns n bytes at off, from the mapping or read into buf.
func (s *stFile) readAt(buf []byte, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > s.size {
		return nil, fmt.Errorf("read of %d bytes at %d is outside the file (%d bytes)", n, off, s.size)
	}
	if s.mapped != nil {
		return s.mapped[off : off+n], nil
	}
	buf = buf[:n]
	if _, err := s.f.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("truncated: read of %d bytes at %d hit the end of the file", n, off)
		}
		return nil, err
	}
	return buf, nil
}

// tensorBytes returns n raw bytes of e from byte off of its data on.
// Without a mapping they live in a scratch buffer that the next call reuses.
func (s *stFile) tensorBytes(e stEntry, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > e.End-e.Begin {
		return nil, fmt.Errorf("%s: tensor %q: bytes [%d, %d) are outside its %d", s.path, e.Name, off, off+n, e.End-e.Begin)
	}
	if s.mapped == nil && int64(cap(s.scratch)) < n {
		s.scratch = make([]byte, n)
	}
	b, err := s.readAt(s.scratch, s.hdr.DataStart+e.Begin+off, n)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", s.path, e.Name, err)
	}
	return b, nil
}

// release gives back the resident pages of bytes [off, off+n) of e's data
// once they are converted (see releaseMapped); without a mapping there is
// nothing to give back.
func (s *stFile) release(e stEntry, off, n int64) error {
	if s.mapped == nil {
		return nil
	}
	at := s.hdr.DataStart + e.Begin + off
	if err := releaseMapped(s.mapped, int(at), int(at+n)); err != nil {
		return fmt.Errorf("%s: tensor %q: %w", s.path, e.Name, err)
	}
	return nil
}

// Close unmaps and closes the file.
func (s *stFile) Close() error {
	err := unmapFile(s.mapped)
	s.mapped = nil
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
