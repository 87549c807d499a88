package model

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// CheckFinite rejects weights that are NaN or ±Inf, naming the tensor
	// and the element.
	CheckFinite bool
}

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
		if cerr := closeAll(files); err == nil {
			err = cerr
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
	m := &Model{Config: cfg, Layout: layout, W: make([]float32, layout.Total), Source: dir}
	for _, t := range m.Layout.Tensors {
		if err := src.read(ctx, t, t.Of(m.W), opts.CheckFinite); err != nil {
			return nil, err
		}
	}
	if err := src.checkTiedHead(ctx, m); err != nil {
		return nil, err
	}
	if m.TokenizerJSON, err = readOptional(filepath.Join(dir, tokenizerFile)); err != nil {
		return nil, err
	}
	if m.Meta, err = readMeta(filepath.Join(dir, metaFile)); err != nil {
		return nil, err
	}
	return m, nil
}

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
			return fmt.Errorf("%s: %s", loc.file.path, nonFiniteAt(loc.entry.Name, t.Shape, dst, i))
		}
	}
	return nil
}

// decode converts the tensor at l into dst ([rows, cols]; stored
// [cols, rows] when transposed), loadChunk bytes of whole stored rows at a
// time, and stops with ctx's error when ctx is done. The pages of a mapped
// piece leave the process's resident set once it is converted.
func (l located) decode(ctx context.Context, dst []float32, transposed bool, rows, cols int) error {
	stored, width := rows, cols
	if transposed {
		stored, width = cols, rows
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
		decodeRows(dst, b, l.entry.DType, transposed, rows, cols, r)
		if err := l.file.release(l.entry, int64(r*rowBytes), int64(n*rowBytes)); err != nil {
			return err
		}
	}
	return nil
}

// checkTiedHead accepts an lm_head.weight in a tied checkpoint only when it
// equals the embedding, which then serves as the head.
func (s *tensorSource) checkTiedHead(ctx context.Context, m *Model) error {
	if s.head == nil {
		return nil
	}
	emb, _ := m.Layout.Find(-1, RoleEmbed)
	if !slices.Equal(s.head.entry.Shape, emb.Shape) {
		return fmt.Errorf("%s: tensor \"lm_head.weight\": shape %v, but the tied embedding is %v", s.head.file.path, s.head.entry.Shape, emb.Shape)
	}
	head := make([]float32, emb.Size)
	if err := s.head.decode(ctx, head, false, emb.Rows(), emb.Cols()); err != nil {
		return err
	}
	if !slices.Equal(head, emb.Of(m.W)) {
		return fmt.Errorf("%s: tensor \"lm_head.weight\" differs from %q, but config.json ties them (tie_word_embeddings)", s.head.file.path, emb.Name)
	}
	return nil
}
