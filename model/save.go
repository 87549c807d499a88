package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

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
// new. Save, Load, Save gives byte-identical files. Save is NewWriter,
// Write of every tensor and Commit: of a lazy model (Open), the tensors
// not pinned are saved as its checkpoint holds them.
func (m *Model) Save(dir string, opts SaveOptions) error {
	w, err := m.NewWriter(dir, opts)
	if err != nil {
		return err
	}
	if err := w.Write(m.Layout.Tensors...); err != nil {
		return errors.Join(err, w.Abort())
	}
	return w.Commit()
}

// saveError names dir in err, unless err is a Guard's refusal (which names
// it already).
func saveError(dir string, err error) error {
	var refused *fsx.RefusedError
	if err == nil || errors.As(err, &refused) {
		return err
	}
	return fmt.Errorf("save %s: %w", dir, err)
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
// the directory), without touching the disk. Structured pruning and a
// smaller dtype shrink it; unstructured sparsity does not (safetensors
// stores dense tensors).
func (m *Model) SavedSize(opts SaveOptions) (int64, error) {
	p, err := m.planSave(opts)
	if err != nil {
		return 0, err
	}
	return int64(len(p.config)+len(p.meta)+len(m.TokenizerJSON)) + p.weightsSize(), nil
}

// savePlan is what a save writes, decided before any weight is encoded:
// the small files' bytes, and the safetensors header with every tensor's
// place in the file.
type savePlan struct {
	config, meta []byte
	header       []byte // padded JSON header
	dataStart    int64  // 8 + len(header): where the data section begins
	// tensors are the stored tensors, sorted by name (the file's order).
	tensors []plannedTensor
}

// plannedTensor is one tensor of the safetensors file: the span [lo, hi)
// of W that holds it (a fused tensor's parts are adjacent in the layout),
// the layout tensors that make it up, and where its bytes begin in the
// data section.
type plannedTensor struct {
	out    stOut // Data is nil: W[lo:hi] when written
	lo, hi int
	parts  []int // indices into Layout.Tensors
	at     int64
}

// weightsSize is the length of model.safetensors: length prefix, header
// and every tensor's bytes.
func (p *savePlan) weightsSize() int64 {
	n := p.dataStart
	for _, t := range p.tensors {
		n += t.bytes()
	}
	return n
}

func (t plannedTensor) bytes() int64 { return int64(t.hi-t.lo) * int64(t.out.DType.Size()) }

// planSave decides what Save writes without touching the disk or reading
// the weights: every check that can fail before writing is made here.
func (m *Model) planSave(opts SaveOptions) (*savePlan, error) {
	if err := m.checkShapes(); err != nil {
		return nil, err
	}
	if opts.DType != "" && !opts.DType.Supported() {
		return nil, fmt.Errorf("cannot write dtype %q (want F32, F16 or BF16)", opts.DType)
	}
	ts := make([]plannedTensor, 0, len(m.Layout.Tensors))
	torch := ""
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
			if prev.out.Name != t.Stored || prev.out.Shape[0] != t.StoredRow || prev.hi != t.Offset {
				return nil, fmt.Errorf("tensor %q: rows %d… of %q do not follow its rows before in the layout", t.Name, t.StoredRow, t.Stored)
			}
			if prev.out.DType != dt {
				return nil, fmt.Errorf("tensor %q: dtype %s, but the rows of %q before it are %s; a fused tensor has one dtype", t.Name, dt, t.Stored, prev.out.DType)
			}
			prev.out.Shape = []int{prev.out.Shape[0] + t.Rows(), prev.out.Shape[1]}
			prev.hi += t.Size
			prev.parts = append(prev.parts, i)
			continue
		}
		ts = append(ts, plannedTensor{
			out: stOut{Name: t.StoredName(), DType: dt, Shape: t.Shape, Transposed: t.Transposed},
			lo:  t.Offset, hi: t.Offset + t.Size, parts: []int{i},
		})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].out.Name < ts[j].out.Name })
	outs := make([]stOut, len(ts))
	var at int64
	for i := range ts {
		ts[i].at = at
		at += ts[i].bytes()
		outs[i] = ts[i].out
		outs[i].Data = m.W[ts[i].lo:ts[i].hi] // only its length is read
	}
	hdr, err := stHeaderBytes(outs)
	if err != nil {
		return nil, err
	}
	cfg, err := m.Config.MarshalHF(torch)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	meta, err := m.lopperJSON(opts.Metadata)
	if err != nil {
		return nil, err
	}
	return &savePlan{config: cfg, meta: meta, header: hdr, dataStart: 8 + int64(len(hdr)), tensors: ts}, nil
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

// writeFileSync creates path with data and fsyncs it.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
