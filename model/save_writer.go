package model

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
)

// Writer saves a model directory as Save does, but tensor by tensor: the
// caller gives each tensor once it is final (Write), in any order, and the
// result is byte for byte what Save writes. NewWriter decides the whole
// safetensors header up front from the layout and the dtypes, so every
// tensor's place in model.safetensors is known before any is written; each
// tensor is encoded from m.W straight to its place with positioned writes
// (the output is never mapped, so its pages do not count in the process's
// memory). A Writer is not safe for concurrent use.
type Writer struct {
	m     *Model
	dir   string
	guard fsx.Guard
	plan  *savePlan
	tmp   *fsx.TempDir
	f     *os.File // model.safetensors in tmp
	// given says which layout tensors were written; left counts, per
	// planned tensor, the parts not yet given (a fused tensor is encoded
	// when its last part is).
	given  []bool
	left   []int
	held   []bool // layout index: a pin the writer holds (lazy models)
	of     []int  // layout index → planned tensor
	bw     *bufio.Writer
	buf    []byte
	closed bool
}

// NewWriter starts saving m to dir: everything Save checks is checked here,
// before any weight is written (the options, the shapes, opts.Guard on
// dir), temporaries a killed save left next to dir are cleared, and a
// locked temporary directory next to dir receives config.json,
// tokenizer.json and model.safetensors' header, the file sized to its
// final length. Then Write each tensor of m.Layout and Commit, or Abort.
// Errors name dir (a Guard's refusal is returned as it is).
func (m *Model) NewWriter(dir string, opts SaveOptions) (*Writer, error) {
	w, err := m.newWriter(dir, opts)
	return w, saveError(dir, err)
}

func (m *Model) newWriter(dir string, opts SaveOptions) (*Writer, error) {
	plan, err := m.planSave(opts)
	if err != nil {
		return nil, err
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	if base == "" || base == "." || base == ".." || base == string(filepath.Separator) {
		return nil, errors.New("need a directory name to create or replace")
	}
	g := opts.Guard
	if g.Owned == nil {
		g.Owned = CheckSavedDir
	}
	if err := g.Check(dir); err != nil {
		return nil, err
	}
	if _, err := fsx.RemoveStale(parent, base); err != nil {
		return nil, err
	}
	tmp, err := fsx.NewTempDir(dir)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		m: m, dir: dir, guard: g, plan: plan, tmp: tmp,
		given: make([]bool, len(m.Layout.Tensors)), left: make([]int, len(plan.tensors)),
		held: make([]bool, len(m.Layout.Tensors)),
		of:   make([]int, len(m.Layout.Tensors)),
		bw:   bufio.NewWriterSize(nil, 1<<20), buf: make([]byte, 0, 1<<16),
	}
	for j, t := range plan.tensors {
		w.left[j] = len(t.parts)
		for _, i := range t.parts {
			w.of[i] = j
		}
	}
	if err := w.start(); err != nil {
		return nil, errors.Join(err, w.Abort())
	}
	return w, nil
}

// start writes the small files and model.safetensors' length prefix and
// header, and sizes the file.
func (w *Writer) start() error {
	if err := writeFileSync(filepath.Join(w.tmp.Path, configFile), w.plan.config); err != nil {
		return fmt.Errorf("%s: %w", configFile, err)
	}
	if w.m.TokenizerJSON != nil {
		if err := writeFileSync(filepath.Join(w.tmp.Path, tokenizerFile), w.m.TokenizerJSON); err != nil {
			return fmt.Errorf("%s: %w", tokenizerFile, err)
		}
	}
	f, err := os.OpenFile(filepath.Join(w.tmp.Path, weightsFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", weightsFile, err)
	}
	w.f = f
	head := binary.LittleEndian.AppendUint64(make([]byte, 0, w.plan.dataStart), uint64(len(w.plan.header)))
	head = append(head, w.plan.header...)
	if _, err := f.WriteAt(head, 0); err != nil {
		return fmt.Errorf("%s: %w", weightsFile, err)
	}
	if err := f.Truncate(w.plan.weightsSize()); err != nil {
		return fmt.Errorf("%s: %w", weightsFile, err)
	}
	return nil
}

// SetMetadata replaces the metadata that Commit writes to lopper.json
// (SaveOptions.Metadata): for a caller who knows what it did only once
// every tensor is written. It must be a JSON object.
func (w *Writer) SetMetadata(meta json.RawMessage) error {
	b, err := w.m.lopperJSON(meta)
	if err != nil {
		return saveError(w.dir, err)
	}
	w.plan.meta = b
	return nil
}

// Write encodes the given tensors of the model's layout from m.W into
// model.safetensors, converted to the planned dtype and transposed as
// Save does. Each tensor is given once; the parts of a fused tensor are
// encoded together when the last of them is given, so m.W must hold all
// of them then. A tensor that is not in the layout, or given twice, is an
// error.
//
// Of a lazy model (Open), Write takes the tensors as W holds them now: it
// pins what it encodes (a tensor that is not pinned is decoded from the
// checkpoint) and keeps a pin on a part of a fused tensor until the last
// part comes, so the caller may unpin what it gave as soon as Write
// returns.
func (w *Writer) Write(ts ...TensorInfo) error {
	return saveError(w.dir, w.write(ts))
}

func (w *Writer) write(ts []TensorInfo) error {
	if w.closed {
		return errors.New("the writer was committed or aborted")
	}
	for _, t := range ts {
		i := w.m.tensorIndex(t)
		if i < 0 {
			return fmt.Errorf("tensor %q is not in the model's layout", t.Name)
		}
		if lt := w.m.Layout.Tensors[i]; lt.Offset != t.Offset || lt.Size != t.Size {
			return fmt.Errorf("tensor %q: offset %d and size %d, but the model's layout has %d and %d", t.Name, t.Offset, t.Size, lt.Offset, lt.Size)
		}
		if w.given[i] {
			return fmt.Errorf("tensor %q written twice", t.Name)
		}
		w.given[i] = true
		j := w.of[i]
		if w.left[j]--; w.left[j] > 0 {
			// The other parts of a fused tensor come later: keep this one.
			if err := w.m.Pin(context.Background(), w.m.Layout.Tensors[i]); err != nil {
				return err
			}
			w.held[i] = true
			continue
		}
		if err := w.encode(w.plan.tensors[j]); err != nil {
			return err
		}
	}
	return nil
}

// Pending returns the tensors of the layout not written yet, in layout
// order: what a caller who wrote some tensors as they were ready still
// has to write before Commit.
func (w *Writer) Pending() []TensorInfo {
	var out []TensorInfo
	for i, t := range w.m.Layout.Tensors {
		if !w.given[i] {
			out = append(out, t)
		}
	}
	return out
}

// encode writes one planned tensor from m.W at its place in the file. Of
// a lazy model it pins the tensor's parts while it encodes them, and
// drops the pins Write kept on them.
func (w *Writer) encode(t plannedTensor) error {
	parts := make([]TensorInfo, len(t.parts))
	for k, i := range t.parts {
		parts[k] = w.m.Layout.Tensors[i]
	}
	if err := w.m.Pin(context.Background(), parts...); err != nil {
		return err
	}
	defer w.m.Unpin(parts...)
	w.unhold(t.parts)
	out := t.out
	out.Data = w.m.W[t.lo:t.hi]
	w.bw.Reset(io.NewOffsetWriter(w.f, w.plan.dataStart+t.at))
	var err error
	if w.buf, err = encodeTensor(w.bw, w.buf, out); err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("tensor %q: %s: %w", out.Name, weightsFile, err)
	}
	return nil
}

// Commit finishes the save: it fails, naming it, if a tensor of the
// layout was never written; otherwise it fsyncs model.safetensors, writes
// lopper.json, checks the Guard on dir again (something may have appeared
// there since NewWriter) and swaps the directory in as Save does. On any
// error the temporary directory is removed. A Writer is done after
// Commit, whatever it returns.
func (w *Writer) Commit() error {
	if w.closed {
		return saveError(w.dir, errors.New("the writer was committed or aborted"))
	}
	if err := w.commit(); err != nil {
		return saveError(w.dir, errors.Join(err, w.Abort()))
	}
	return nil
}

func (w *Writer) commit() error {
	if p := w.Pending(); len(p) > 0 {
		return fmt.Errorf("tensor %q was never written", p[0].Name)
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err != nil {
		return fmt.Errorf("%s: %w", weightsFile, err)
	}
	if err := writeFileSync(filepath.Join(w.tmp.Path, metaFile), w.plan.meta); err != nil {
		return fmt.Errorf("%s: %w", metaFile, err)
	}
	if err := w.guard.Check(w.dir); err != nil {
		return err
	}
	w.closed = true
	return w.tmp.Commit(w.dir) // removes the temporary directory if it fails
}

// Abort gives the save up: the temporary directory is removed and dir is
// left as it was. It does nothing after Commit or another Abort, so it
// may be deferred.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	all := make([]int, len(w.held))
	for i := range all {
		all[i] = i
	}
	w.unhold(all)
	var err error
	if w.f != nil {
		err = w.f.Close()
		w.f = nil
	}
	return errors.Join(err, w.tmp.Discard())
}

// unhold drops the pins Write kept on the layout tensors idx.
func (w *Writer) unhold(idx []int) {
	for _, i := range idx {
		if w.held[i] {
			w.held[i] = false
			w.m.Unpin(w.m.Layout.Tensors[i])
		}
	}
}
