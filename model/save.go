package model

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
)

// SaveOptions tune Save.
type SaveOptions struct {
	// DType writes every tensor in this dtype (F32, F16 or BF16, rounding
	// to nearest even); empty keeps each tensor's source dtype.
	DType DType
	// Metadata is a JSON object saying what lopper did, written to
	// lopper.json under "metadata". Nil keeps the model's Meta.
	Metadata json.RawMessage
	// Guard decides whether an existing directory at the target may be
	// replaced (see fsx.Guard). Its Owned defaults to CheckSavedDir, so the
	// zero Guard replaces only empty directories and models lopper saved,
	// and never the working directory or a directory containing it.
	Guard fsx.Guard
}

// lopperDoc is the content of lopper.json.
type lopperDoc struct {
	// HFCompatible is false when Hugging Face cannot load the model from
	// the standard config fields (see Config.HFCompatible); Reason says why.
	HFCompatible bool            `json:"hf_compatible"`
	Reason       string          `json:"hf_incompatible_reason,omitempty"`
	Metadata     json.RawMessage `json:"metadata"`
}

// Save writes m as a Hugging Face model directory: config.json (updated from
// the current dims), model.safetensors, tokenizer.json (the bytes m was
// loaded with, if any) and lopper.json. It first asks opts.Guard whether dir
// may be written (an existing directory that lopper did not save is
// refused), clears temporaries that a killed save left next to dir, then
// writes and fsyncs everything in a locked temporary directory next to dir
// and swaps it in (fsx.TempDir.Commit), so dir is always complete, old or
// new. Save, Load, Save gives byte-identical files.
func (m *Model) Save(dir string, opts SaveOptions) error {
	err := m.save(dir, opts)
	var refused *fsx.RefusedError
	if err == nil || errors.As(err, &refused) { // a refusal names dir already
		return err
	}
	return fmt.Errorf("save %s: %w", dir, err)
}

func (m *Model) save(dir string, opts SaveOptions) (err error) {
	files, err := m.render(opts)
	if err != nil {
		return err
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	if base == "" || base == "." || base == ".." || base == string(filepath.Separator) {
		return errors.New("need a directory name to create or replace")
	}
	g := opts.Guard
	if g.Owned == nil {
		g.Owned = CheckSavedDir
	}
	if err := g.Check(dir); err != nil {
		return err
	}
	if _, err := fsx.RemoveStale(parent, base); err != nil {
		return err
	}
	tmp, err := fsx.NewTempDir(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFileSync(filepath.Join(tmp.Path, f.name), f.write); err != nil {
			return errors.Join(fmt.Errorf("%s: %w", f.name, err), tmp.Discard())
		}
	}
	return tmp.Commit(dir)
}

// savedFiles are the names Save writes.
var savedFiles = map[string]bool{configFile: true, weightsFile: true, metaFile: true, tokenizerFile: true}

// CheckSavedDir returns nil when dir is a model directory that lopper saved
// and that holds nothing else (so replacing it loses nothing lopper did not
// write), or an error saying why not. It is SaveOptions.Guard's default
// Owned.
func CheckSavedDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !savedFiles[e.Name()] || !e.Type().IsRegular() {
			return fmt.Errorf("it holds %s, which lopper's save did not write", e.Name())
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, metaFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("it has no %s: lopper did not save it", metaFile)
	}
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil || doc["metadata"] == nil {
		return fmt.Errorf("its %s was not written by lopper's save", metaFile)
	}
	return nil
}

// SavedSize returns how many bytes Save(dir, opts) writes (every file of
// the directory), without touching the disk: the files are rendered into a
// counter. Structured pruning and a smaller dtype shrink it; unstructured
// sparsity does not (safetensors stores dense tensors).
func (m *Model) SavedSize(opts SaveOptions) (int64, error) {
	files, err := m.render(opts)
	if err != nil {
		return 0, err
	}
	var n byteCounter
	for _, f := range files {
		if err := f.write(&n); err != nil {
			return 0, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return int64(n), nil
}

type byteCounter int64

func (c *byteCounter) Write(p []byte) (int, error) {
	*c += byteCounter(len(p))
	return len(p), nil
}

// outFile is one file of a saved model directory.
type outFile struct {
	name  string
	write func(w io.Writer) error
}

// render prepares the files of a save without touching the disk.
func (m *Model) render(opts SaveOptions) ([]outFile, error) {
	if err := m.checkShapes(); err != nil {
		return nil, err
	}
	if opts.DType != "" && !opts.DType.Supported() {
		return nil, fmt.Errorf("cannot write dtype %q (want F32, F16 or BF16)", opts.DType)
	}
	ts := make([]stOut, 0, len(m.Layout.Tensors))
	torch, end := "", 0 // end: where the last tensor of ts ends in W
	for i, t := range m.Layout.Tensors {
		dt := t.DType
		if opts.DType != "" {
			dt = opts.DType
		}
		switch {
		case i == 0:
			torch = dt.TorchName()
		case torch != dt.TorchName():
			torch = "" // mixed dtypes: leave torch_dtype as it was
		}
		if t.Stored != "" && t.StoredRow > 0 {
			// The next rows of the fused tensor before it (adjacent in the
			// layout, in stored order).
			prev := &ts[len(ts)-1]
			if prev.Name != t.Stored || prev.Shape[0] != t.StoredRow || end != t.Offset {
				return nil, fmt.Errorf("tensor %q: rows %d… of %q do not follow its rows before in the layout", t.Name, t.StoredRow, t.Stored)
			}
			if prev.DType != dt {
				return nil, fmt.Errorf("tensor %q: dtype %s, but the rows of %q before it are %s; a fused tensor has one dtype", t.Name, dt, t.Stored, prev.DType)
			}
			prev.Shape = []int{prev.Shape[0] + t.Rows(), prev.Shape[1]}
			prev.Data = prev.Data[:len(prev.Data)+t.Size]
			end += t.Size
			continue
		}
		ts = append(ts, stOut{Name: t.StoredName(), DType: dt, Shape: t.Shape, Transposed: t.Transposed, Data: t.Of(m.W)})
		end = t.Offset + t.Size
	}
	cfg, err := m.Config.MarshalHF(torch)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	meta, err := m.lopperJSON(opts.Metadata)
	if err != nil {
		return nil, err
	}
	files := []outFile{
		{configFile, writeBytes(cfg)},
		{weightsFile, func(w io.Writer) error { return writeSafetensors(w, ts) }},
		{metaFile, writeBytes(meta)},
	}
	if m.TokenizerJSON != nil {
		files = append(files, outFile{tokenizerFile, writeBytes(m.TokenizerJSON)})
	}
	return files, nil
}

func (m *Model) lopperJSON(meta json.RawMessage) ([]byte, error) {
	if meta == nil {
		meta = m.Meta
	}
	if meta == nil {
		meta = json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(meta, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("metadata must be a JSON object: %s", jsonText(meta))
	}
	doc := lopperDoc{HFCompatible: true, Metadata: meta}
	if err := m.Config.HFCompatible(); err != nil {
		doc.HFCompatible, doc.Reason = false, err.Error()
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}

// writeFileSync creates path, fills it through a buffer and fsyncs it.
func writeFileSync(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
