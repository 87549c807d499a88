package model

import (
	"errors"
	"fmt"
)

// LinearHook sees the input rows x ([rows, cols], row-major) of linear
// layers during a forward pass. weights lists the Hugging Face names of the
// weights that consume this input: q, k and v share one input (GPT-2:
// c_attn), so do gate and up. x is only valid during the call.
type LinearHook func(weights []string, x []float32, rows, cols int)

// State holds the activations of forward and backward passes for up to B
// sequences of up to T tokens, and the buffers that let repeated passes run
// without allocating. A State belongs to one model and one goroutine; many
// States may share a model. Rebuild it after the model's dims change.
type State struct {
	m     *Model
	B, T  int
	train bool
	// Hook, when set, sees the inputs of every linear layer during Forward.
	Hook LinearHook

	refs    []blockRefs
	globals globalRefs
	rot     ropeTables // RoPE cos and sin tables (Llama)
	// Gemma 3's sliding layers: their own tables, for local, the config
	// with their base and no scaling.
	rotLocal ropeTables
	local    Config
	// Gemma: (1 + w) norm weights of the norm being run (nw) and of the
	// q and k norms (nq, nk); embScale multiplies the token embeddings.
	nw, nq, nk []float32
	embScale   float32
	res        [][]float32
	acts       []blockActs
	fin        normActs
	logits     []float32
	work       attnWork
	// Set by Forward for Backward.
	tokens   []int32
	b, t     int
	backward bool
	grad     gradBufs
	// Training options (TrainOptions): recompute keeps one block's
	// activations; sel selects the trainable tensors, whose gradients
	// ggrads and grefs locate; the backward pass stops at block stop;
	// gscratch holds gradients of partly trainable or frozen spans.
	recompute bool
	sel       *Trainable
	ggrads    globalGrads
	grefs     []blockGrads
	stop      int
	gscratch  [2][]float32
	pins      pinSets
}

// errTrainLazy refuses a training State or Backward on a lazy model.
var errTrainLazy = errors.New("training needs resident weights: this model was opened lazily (model.Open); load it with model.Load")

// pinSets are the tensors the passes of a lazy model pin while they run
// (empty for a resident model): everything outside the blocks for a whole
// Forward, the embeddings for Embed, the final norm and head for Head,
// and each block's tensors while the block runs.
type pinSets struct {
	outer, embed, head []TensorInfo
	blocks             [][]TensorInfo
}

func newPinSets(l *Layout, layers int) pinSets {
	p := pinSets{outer: l.BlockTensors(-1), embed: l.EmbedTensors(), head: l.HeadTensors(), blocks: make([][]TensorInfo, layers)}
	for i := range p.blocks {
		p.blocks[i] = l.BlockTensors(i)
	}
	return p
}

// block is the pin set of block l.
func (p *pinSets) block(l int) []TensorInfo {
	if p.blocks == nil {
		return nil
	}
	return p.blocks[l]
}

// normActs are a norm's outputs and its saved statistics.
type normActs struct {
	out, mean, rstd []float32
}

// blockActs are one block's saved activations over B·T rows.
type blockActs struct {
	n1, n2 normActs
	qkv    []float32 // [rows, (heads+2·kvheads)·headDim], q and k after RoPE
	// Qwen3: q and k before their per-head norms [rows, (heads+kvheads)·headDim],
	// and the norms' 1/rms [rows, heads+kvheads].
	qkRaw, qkRstd []float32
	att           []float32 // [B, heads, T, T] softmax probabilities (training only)
	y             []float32 // [rows, heads·headDim] attention output, input of o
	mid           []float32 // [rows, hidden] residual after attention
	fc            []float32 // Llama [rows, 2·inter] gate|up; GPT-2 [rows, inter] pre-activation
	act           []float32 // [rows, inter] input of down
	// Gemma 2/3 post-norms: the o and down outputs [rows, hidden] and
	// their norms.
	ao, do   []float32
	pn1, pn2 normActs
}

// gradBufs are backward scratch buffers sized for the widest layer.
type gradBufs struct {
	dres, dxn, dqkv, dy, dfc, dact []float32
	dqk                            []float32 // one row of q and k gradients (Qwen3 norms)
	dpost                          []float32 // gradient of a post-normed output (Gemma 2/3)
	dlog                           []float32 // gradient of the logits before the final softcap (Gemma 2)
}

// NewState returns a State for forward and backward passes over batches of
// up to B sequences of up to T tokens. It keeps every layer's activations
// (memory grows with layers × B × heads × T²); use NewInferenceState when
// no backward pass is needed.
// NewTrainState chooses which tensors get gradients and whether
// activations are recomputed.
func NewState(m *Model, B, T int) (*State, error) { return newState(m, B, T, true, false) }

// NewInferenceState returns a State for Forward, Embed, BlockForward and
// Head only: activations are kept for one layer at a time.
func NewInferenceState(m *Model, B, T int) (*State, error) { return newState(m, B, T, false, false) }

func newState(m *Model, B, T int, train, recompute bool) (*State, error) {
	c := &m.Config
	if c.Arch == BERT {
		return nil, notCausal(c)
	}
	if train && m.Lazy() {
		return nil, errTrainLazy
	}
	if err := m.checkShapes(); err != nil {
		return nil, err
	}
	if B <= 0 || T <= 0 {
		return nil, fmt.Errorf("batch %d × sequence %d: both must be positive", B, T)
	}
	if T > c.MaxPos && c.Rope.typ() != RoPEDynamic {
		// Dynamic NTK RoPE exists to run beyond max_position_embeddings.
		return nil, fmt.Errorf("sequence length %d exceeds the model's %d positions", T, c.MaxPos)
	}
	if err := checkStateBytes(c, B, T, train, recompute); err != nil {
		return nil, err
	}
	s := &State{m: m, B: B, T: T, train: train, recompute: train && recompute}
	n, H := B*T, c.Hidden
	var err error
	if s.refs, s.globals, err = buildRefs(m.Layout, c); err != nil {
		return nil, err
	}
	if c.Arch == Llama {
		s.rot = newRoPETables(c, T)
		if c.RopeLocalTheta > 0 {
			s.local = c.Clone()
			s.local.RopeTheta, s.local.Rope = c.RopeLocalTheta, c.RopeLocal
			s.rotLocal = newRoPETables(&s.local, T)
		}
	}
	if c.NormOffset {
		s.nw, s.nq, s.nk = make([]float32, H), make([]float32, c.HeadDim), make([]float32, c.HeadDim)
	}
	s.embScale = embedScale(m)
	if m.Lazy() {
		s.pins = newPinSets(m.Layout, len(c.Layers))
	}
	nres, nacts := 2, 1
	if train {
		nres, nacts = len(c.Layers)+1, len(c.Layers)
	}
	if s.recompute {
		nacts = 1
	}
	s.res = make([][]float32, nres)
	for i := range s.res {
		s.res[i] = make([]float32, n*H)
	}
	w := c.maxDims()
	s.acts = make([]blockActs, nacts)
	for l := range s.acts {
		d := w
		if train && !s.recompute {
			d = c.Layers[l]
		}
		s.acts[l] = newBlockActs(c, d, B, T, train)
	}
	s.fin = newNormActs(c, n)
	// The logits ([B·T, vocab], often the largest buffer) are allocated
	// by the first pass that computes them: calibration runs blocks only.
	return s, nil
}

func newNormActs(c *Config, n int) normActs {
	a := normActs{out: make([]float32, n*c.Hidden), rstd: make([]float32, n)}
	if c.Arch == GPT2 {
		a.mean = make([]float32, n)
	}
	return a
}

func newBlockActs(c *Config, d LayerDims, B, T int, train bool) blockActs {
	n, hd := B*T, c.HeadDim
	a := blockActs{
		n1:  newNormActs(c, n),
		n2:  newNormActs(c, n),
		qkv: make([]float32, n*(d.Heads+2*d.KVHeads)*hd),
		y:   make([]float32, n*d.Heads*hd),
		mid: make([]float32, n*c.Hidden),
		fc:  make([]float32, n*fcWidth(c, d)),
		act: make([]float32, n*d.Intermediate),
	}
	if train {
		a.att = make([]float32, B*d.Heads*T*T)
	}
	if c.QKNorm {
		a.qkRaw = make([]float32, n*(d.Heads+d.KVHeads)*hd)
		a.qkRstd = make([]float32, n*(d.Heads+d.KVHeads))
	}
	if c.PostNorms {
		a.ao, a.do = make([]float32, n*c.Hidden), make([]float32, n*c.Hidden)
		a.pn1, a.pn2 = newNormActs(c, n), newNormActs(c, n)
	}
	return a
}

// fcWidth is the width of the MLP's first projection: gate and up stacked
// for Llama, c_fc for GPT-2.
func fcWidth(c *Config, d LayerDims) int {
	if c.Arch == Llama {
		return 2 * d.Intermediate
	}
	return d.Intermediate
}

// actsFor returns the activation buffers of block l: its own in a
// training State, the one set otherwise (inference, recompute).
func (s *State) actsFor(l int) *blockActs {
	if s.train && !s.recompute {
		return &s.acts[l]
	}
	return &s.acts[0]
}

// resIn and resOut are block l's residual input and output buffers.
func (s *State) resIn(l int) []float32 {
	if s.train {
		return s.res[l]
	}
	return s.res[l%2]
}

func (s *State) resOut(l int) []float32 { return s.resIn(l + 1) }

// Hidden returns the residual stream entering block l (l = NumLayers: the
// output of the last block, before the final norm), [rows, hidden], from
// the last Forward of a training State. It is nil for inference States.
func (s *State) Hidden(l int) []float32 {
	if !s.train || l < 0 || l >= len(s.res) {
		return nil
	}
	return s.res[l][:s.b*s.t*s.m.Config.Hidden]
}

// allocGrad sizes the backward scratch buffers on first use.
func (s *State) allocGrad() {
	if s.grad.dres != nil {
		return
	}
	c := &s.m.Config
	w := c.maxDims()
	n, hd := s.B*s.T, c.HeadDim
	s.grad = gradBufs{
		dres: make([]float32, n*c.Hidden),
		dxn:  make([]float32, n*c.Hidden),
		dqkv: make([]float32, n*(w.Heads+2*w.KVHeads)*hd),
		dy:   make([]float32, n*w.Heads*hd),
		dfc:  make([]float32, n*fcWidth(c, w)),
		dact: make([]float32, n*w.Intermediate),
	}
	if c.QKNorm {
		s.grad.dqk = make([]float32, (w.Heads+w.KVHeads)*hd)
	}
	if c.PostNorms {
		s.grad.dpost = make([]float32, n*c.Hidden)
	}
	if c.FinalSoftcap > 0 {
		s.grad.dlog = make([]float32, n*c.Vocab)
	}
}
