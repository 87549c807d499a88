package model

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
)

// LoadOptions tune Load, LoadContext and Open.
type LoadOptions struct {
	// CheckFinite rejects weights that are NaN or ±Inf, naming the tensor
	// and the element.
	CheckFinite bool
	// FiniteOnPin (Open only, with CheckFinite) checks each tensor the
	// first time Pin decodes it instead of scanning every tensor at Open,
	// so that Open reads no weights and a weight is decoded once instead
	// of twice: a NaN or ±Inf is then reported, as a *NonFiniteError with
	// Load's message, by the Pin that first decodes its tensor. Clone of
	// such a model copies the tensors no pin decoded yet unchecked.
	FiniteOnPin bool
}

// NonFiniteError is the error of a NaN or ±Inf weight found as a
// checkpoint's tensor is decoded (LoadOptions.CheckFinite): it names the
// file, the tensor and the element. Callers that report a lazy model's
// check (FiniteOnPin) as a load error find it with errors.As.
type NonFiniteError struct {
	msg string
}

// Error is the message: file, tensor, element in [out, in] order, value.
func (e *NonFiniteError) Error() string { return e.msg }

// Hugging Face file names in a model directory.
const (
	configFile    = "config.json"
	weightsFile   = "model.safetensors"
	indexFile     = "model.safetensors.index.json"
	tokenizerFile = "tokenizer.json"
	metaFile      = "lopper.json"
)

// Load reads a Hugging Face model directory: config.json, model.safetensors
// (or a sharded model.safetensors.index.json), and tokenizer.json and
// lopper.json when present. Weights may be F32, F16 or BF16; they are
// memory-mapped and converted tensor by tensor into one float32 buffer.
// Every tensor the config implies must be present with its shape; unknown
// tensors are an error, except known buffers (GPT-2 attn.bias and
// attn.masked_bias, rotary_emb.inv_freq) and, for tied embeddings, an
// lm_head.weight equal to the embedding. Errors name the file and tensor.
// Every file must be a regular file (a FIFO or a device is refused before
// it is opened, so Load never blocks on one).
func Load(dir string, opts LoadOptions) (*Model, error) {
	return LoadContext(context.Background(), dir, opts)
}

// loadChunk is how many bytes of weights LoadContext reads and converts
// between two looks at its context: a fraction of a second of reading.
var loadChunk = 16 << 20 // tests make it small

// LoadContext is Load that stops when ctx is done: it looks at ctx before
// every file and every loadChunk bytes of weights, so that cancelling the
// load of a multi-gigabyte checkpoint returns promptly, with ctx's error.
func LoadContext(ctx context.Context, dir string, opts LoadOptions) (_ *Model, err error) {
	ck, err := openCheckpoint(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := ck.close(); err == nil {
			err = cerr
		}
	}()
	m := ck.model(make([]float32, ck.layout.Total))
	for _, t := range m.Layout.Tensors {
		if err := ck.src.read(ctx, t, t.Of(m.W), opts.CheckFinite); err != nil {
			return nil, err
		}
	}
	if err := ck.finish(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkpoint is a model directory whose config, layout, weight files and
// tensor shapes and dtypes are checked, before any weight is read: what
// LoadContext and Open share.
type checkpoint struct {
	dir    string
	cfg    Config
	layout *Layout // with the files' dtypes
	files  []*stFile
	src    *tensorSource
}

// openCheckpoint opens and checks dir's config and weight files. On error
// the files are closed.
func openCheckpoint(ctx context.Context, dir string) (_ *checkpoint, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	layout, err := NewLayout(&cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	files, desc, err := openWeights(ctx, dir)
	defer func() {
		if err != nil {
			err = errors.Join(err, closeAll(files))
		}
	}()
	if err != nil {
		return nil, err
	}
	src, err := matchTensors(&cfg, layout, files, desc)
	if err != nil {
		return nil, err
	}
	if layout, err = layout.WithDTypes(src.dtypes()); err != nil {
		return nil, err
	}
	return &checkpoint{dir: dir, cfg: cfg, layout: layout, files: files, src: src}, nil
}

// model returns the checkpoint's model over the weight buffer w.
func (ck *checkpoint) model(w []float32) *Model {
	return &Model{Config: ck.cfg, Layout: ck.layout, W: w, Source: ck.dir}
}

// finish checks a tied head against m's embedding and reads the
// tokenizer and lopper.json into m.
func (ck *checkpoint) finish(ctx context.Context, m *Model) (err error) {
	if err := ck.src.checkTiedHead(ctx, m); err != nil {
		return err
	}
	if m.TokenizerJSON, err = readOptional(filepath.Join(ck.dir, tokenizerFile)); err != nil {
		return err
	}
	m.Meta, err = readMeta(filepath.Join(ck.dir, metaFile))
	return err
}

func (ck *checkpoint) close() error { return closeAll(ck.files) }

// LoadConfig reads and parses the config.json of the model directory dir,
// without its weights (memory estimates, plans). Errors name the file.
func LoadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, configFile)
	data, err := readRegular(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// located is a tensor found in one of the weight files: the entry's rows
// from row on (row 0 and all of them unless the entry fuses several
// tensors).
type located struct {
	file  *stFile
	entry stEntry
	row   int
}

// tensorSource maps every layout tensor to where it is stored.
type tensorSource struct {
	at   map[string]located
	head *located // lm_head.weight of a tied model, checked against the embedding
}

func (s *tensorSource) dtypes() map[string]DType {
	d := make(map[string]DType, len(s.at))
	for n, l := range s.at {
		d[n] = l.entry.DType
	}
	return d
}

// matchTensors checks the files' tensors against the layout: each expected
// tensor exactly once with the expected shape and a supported dtype, no
// unexpected ones. It runs before any weight buffer is allocated.
func matchTensors(c *Config, l *Layout, files []*stFile, desc string) (*tensorSource, error) {
	s := &tensorSource{at: map[string]located{}}
	parts := map[string][]TensorInfo{} // fused checkpoint tensors
	for _, t := range l.Tensors {
		if t.Stored != "" {
			parts[t.Stored] = append(parts[t.Stored], t)
		}
	}
	for _, f := range files {
		for _, e := range f.hdr.Entries {
			if ps := parts[e.Name]; ps != nil {
				if err := s.addFused(f, e, ps); err != nil {
					return nil, err
				}
				continue
			}
			name := e.Name
			if _, ok := l.Lookup(name); !ok {
				name = checkpointAlias(c.Arch, name)
			}
			t, ok := l.Lookup(name)
			switch {
			case ok && t.Stored == "":
			case e.Name == "lm_head.weight" && c.TiedEmbeddings:
				s.head = &located{f, e, 0}
				continue
			case ignoredBuffer(e.Name):
				continue
			default:
				return nil, fmt.Errorf("%s: tensor %q: unexpected for this %s config (%d layers)", f.path, e.Name, c.modelType(), len(c.Layers))
			}
			if err := s.add(f, e, t.Name, t.DiskShape(), 0); err != nil {
				return nil, err
			}
		}
	}
	for _, t := range l.Tensors {
		if _, ok := s.at[t.Name]; !ok {
			shape := t.DiskShape()
			if t.Stored != "" {
				shape = fusedShape(parts[t.Stored])
			}
			return nil, fmt.Errorf("%s: tensor %q (shape %v) is missing", desc, t.StoredName(), shape)
		}
	}
	return s, nil
}

// add records entry e of f as layout tensor name (rows from row on),
// checking it is not stored twice and has the expected shape and a
// supported dtype.
func (s *tensorSource) add(f *stFile, e stEntry, name string, shape []int, row int) error {
	if prev, dup := s.at[name]; dup {
		return fmt.Errorf("%s: tensor %q: also stored in %s", f.path, e.Name, prev.file.path)
	}
	if !slices.Equal(e.Shape, shape) {
		return fmt.Errorf("%s: tensor %q: shape %v, but the config implies %v", f.path, e.Name, e.Shape, shape)
	}
	if !e.DType.Supported() {
		return fmt.Errorf("%s: tensor %q: dtype %s is not supported (want F32, F16 or BF16)", f.path, e.Name, e.DType)
	}
	s.at[name] = located{f, e, row}
	return nil
}

// addFused records a fused checkpoint tensor as its layout parts.
func (s *tensorSource) addFused(f *stFile, e stEntry, parts []TensorInfo) error {
	shape := fusedShape(parts)
	for _, t := range parts {
		if err := s.add(f, e, t.Name, shape, t.StoredRow); err != nil {
			return err
		}
	}
	return nil
}

// fusedShape is the stored shape of the tensor that fuses parts: their
// rows stacked.
func fusedShape(parts []TensorInfo) []int {
	rows := 0
	for _, t := range parts {
		rows += t.Rows()
	}
	return []int{rows, parts[0].Cols()}
}

// read converts tensor t into dst, optionally rejecting NaN and Inf.
func (s *tensorSource) read(ctx context.Context, t TensorInfo, dst []float32, checkFinite bool) error {
	loc := s.at[t.Name]
	if err := loc.decode(ctx, dst, t.Transposed, t.Rows(), t.Cols()); err != nil {
		return err
	}
	if checkFinite {
		if i := firstNonFinite(dst); i >= 0 {
			return &NonFiniteError{msg: loc.file.path + ": " + nonFiniteAt(loc.entry.Name, t.Shape, dst, i)}
		}
	}
	return nil
}

// decode converts the tensor at l into dst ([rows, cols]; stored
// [cols, rows] when transposed), and stops with ctx's error when ctx is
// done (see pieces).
func (l located) decode(ctx context.Context, dst []float32, transposed bool, rows, cols int) error {
	return l.pieces(ctx, transposed, rows, cols, func(r int, b []byte) error {
		decodeRows(dst, b, l.entry.DType, transposed, rows, cols, r)
		return nil
	})
}

// pieces calls fn with the raw bytes of the tensor at l ([rows, cols];
// stored [cols, rows] when transposed), loadChunk bytes of whole stored
// rows at a time from stored row r on, and stops with ctx's error when ctx
// is done. The pages of a mapped piece leave the process's resident set
// once fn returns. Without a mapping the pieces are read into the file's
// one scratch buffer, so the file is held for the whole tensor.
func (l located) pieces(ctx context.Context, transposed bool, rows, cols int, fn func(r int, b []byte) error) error {
	stored, width := rows, cols
	if transposed {
		stored, width = cols, rows
	}
	if l.file.mapped == nil {
		l.file.mu.Lock()
		defer l.file.mu.Unlock()
	}
	rowBytes := max(1, width*l.entry.DType.Size())
	step := max(1, loadChunk/rowBytes)
	for r := 0; r < stored; r += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(step, stored-r)
		b, err := l.file.tensorBytes(l.entry, int64((l.row+r)*rowBytes), int64(n*rowBytes))
		if err != nil {
			return err
		}
		if err := fn(r, b); err != nil {
			return err
		}
		if err := l.file.release(l.entry, int64((l.row+r)*rowBytes), int64(n*rowBytes)); err != nil {
			return err
		}
	}
	return nil
}

// scan calls fn with the tensor at l as float32, piece by piece in stored
// order (see pieces) through one scratch buffer of at most loadChunk
// elements: fn gets the first stored row of the piece and its values.
func (l located) scan(ctx context.Context, transposed bool, rows, cols int, fn func(r int, v []float32) error) error {
	var buf []float32
	return l.pieces(ctx, transposed, rows, cols, func(r int, b []byte) error {
		n := len(b) / l.entry.DType.Size()
		if cap(buf) < n {
			buf = make([]float32, n)
		}
		decodeFlat(buf[:n], b, l.entry.DType)
		return fn(r, buf[:n])
	})
}

// checkFinite rejects a NaN or ±Inf in tensor t with Load's message
// (read with checkFinite), reading it in pieces instead of whole.
func (s *tensorSource) checkFinite(ctx context.Context, t TensorInfo) error {
	loc := s.at[t.Name]
	rows, cols := t.Rows(), t.Cols()
	width := cols
	if t.Transposed {
		width = rows
	}
	return loc.scan(ctx, t.Transposed, rows, cols, func(r int, v []float32) error {
		k := firstNonFinite(v)
		if k < 0 {
			return nil
		}
		sr, sc := r+k/width, k%width // stored row and column
		i := sr*cols + sc
		if t.Transposed {
			i = sc*cols + sr
		}
		return fmt.Errorf("%s: %s", loc.file.path, nonFiniteValue(loc.entry.Name, t.Shape, i, v[k]))
	})
}

// checkTiedHead accepts an lm_head.weight in a tied checkpoint only when it
// equals the embedding, which then serves as the head. It reads the head
// in pieces and pins the embedding while it compares.
func (s *tensorSource) checkTiedHead(ctx context.Context, m *Model) error {
	if s.head == nil {
		return nil
	}
	emb, _ := m.Layout.Find(-1, RoleEmbed)
	if !slices.Equal(s.head.entry.Shape, emb.Shape) {
		return fmt.Errorf("%s: tensor \"lm_head.weight\": shape %v, but the tied embedding is %v", s.head.file.path, s.head.entry.Shape, emb.Shape)
	}
	if err := m.Pin(ctx, emb); err != nil {
		return err
	}
	defer m.Unpin(emb)
	w := emb.Of(m.W)
	cols := emb.Cols()
	return s.head.scan(ctx, false, emb.Rows(), cols, func(r int, v []float32) error {
		if !slices.Equal(v, w[r*cols:r*cols+len(v)]) {
			return fmt.Errorf("%s: tensor \"lm_head.weight\" differs from %q, but config.json ties them (tie_word_embeddings)", s.head.file.path, emb.Name)
		}
		return nil
	})
}
