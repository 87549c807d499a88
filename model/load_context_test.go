package model

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// smallChunks makes Load read and convert weights a few rows at a time.
func smallChunks(t *testing.T, bytes int) {
	old := loadChunk
	loadChunk = bytes
	t.Cleanup(func() { loadChunk = old })
}

// Reading a tensor in pieces gives the same weights as reading it whole,
// transposed (GPT-2 Conv1D) or not, F32, F16 or BF16, sharded or not,
// from a mapping or with reads.
func TestChunkedLoadIsExact(t *testing.T) {
	for _, gm := range goldenModels {
		t.Run(gm.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "goldens", gm.name)
			whole, err := Load(dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			smallChunks(t, 100) // a few rows, down to one row per piece
			pieces, err := Load(dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(whole.W, pieces.W) {
				t.Error("mapped: the weights read in pieces differ from those read whole")
			}
			path := filepath.Join(dir, weightsFile)
			if _, err := os.Stat(path); err != nil {
				return // sharded
			}
			read, scratch := readSafetensors(t, path, whole, false)
			if !slices.Equal(whole.W, read) {
				t.Error("read: the weights read in pieces differ from those read whole")
			}
			piece := 0 // the largest piece: whole stored rows, 100 bytes or one row
			for _, ti := range whole.Layout.Tensors {
				stored, width := ti.Rows(), ti.Cols()
				if ti.Transposed {
					stored, width = width, stored
				}
				row := width * ti.DType.Size()
				piece = max(piece, min(stored, max(1, 100/row))*row)
			}
			if scratch != piece {
				t.Errorf("read: a scratch buffer of %d bytes, want the largest piece's %d", scratch, piece)
			}
		})
	}
}

// countdown is a context that is done after its Err has been asked n
// times: it shows where a load looks at its context.
type countdown struct {
	context.Context
	left atomic.Int32
}

func (c *countdown) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// LoadContext looks at its context between pieces of a tensor, not only
// between tensors or files, and stops at the first look after it is done.
func TestLoadContextStopsBetweenPieces(t *testing.T) {
	dir := filepath.Join("testdata", "goldens", "llama-bf16")
	smallChunks(t, 64)
	all := &countdown{Context: context.Background()}
	all.left.Store(1 << 30)
	m, err := LoadContext(all, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	looks := 1<<30 - int(all.left.Load())
	if looks <= 2*len(m.Layout.Tensors) {
		t.Fatalf("%d looks at the context for %d tensors: not between pieces", looks, len(m.Layout.Tensors))
	}
	for _, at := range []int{0, 1, looks / 2, looks - 1} {
		c := &countdown{Context: context.Background()}
		c.left.Store(int32(at))
		m, err := LoadContext(c, dir, LoadOptions{})
		if !errors.Is(err, context.Canceled) || m != nil {
			t.Errorf("cancelled at look %d of %d: model %v, err %v", at, looks, m != nil, err)
		}
		if extra := -int(c.left.Load()); extra != 1 {
			t.Errorf("cancelled at look %d: looked %d more times", at, extra-1)
		}
	}
}

// A model file that is a FIFO (or another non-regular file) is refused at
// once; before, opening or reading it blocked until a writer came.
func TestLoadRefusesFIFOs(t *testing.T) {
	golden := filepath.Join("testdata", "goldens", "llama-bf16")
	for _, name := range []string{configFile, weightsFile, tokenizerFile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{configFile, weightsFile, tokenizerFile} {
				if f == name {
					if err := syscall.Mkfifo(filepath.Join(dir, f), 0o600); err != nil {
						t.Skipf("no FIFOs here: %v", err)
					}
					continue
				}
				b, err := os.ReadFile(filepath.Join(golden, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := Load(dir, LoadOptions{})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, name)+": not a regular file") {
					t.Errorf("err %v, want one naming the file", err)
				}
			case <-time.After(10 * time.Second):
				unblockFIFO(filepath.Join(dir, name))
				t.Fatal("Load blocked on the FIFO")
			}
		})
	}
}

// unblockFIFO lets a reader blocked on the FIFO at path go on (it reads
// nothing).
func unblockFIFO(path string) {
	if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}
