package model

import (
	"errors"
	"fmt"
	"math"
)

// ErrNotCausalLM is the error of the decoder-only entry points (State:
// next-token logits, perplexity, generation, calibration windows) on an
// encoder classifier, which has no next-token logits. Errors wrap it.
var ErrNotCausalLM = errors.New("not a causal language model")

// notCausal returns the error that NewState gives an encoder.
func notCausal(c *Config) error {
	return fmt.Errorf("model type %q (%s) is an encoder classifier, %w: it has no next-token logits, so perplexity, generation and next-token scores do not apply; evaluate it on labelled examples",
		c.modelType(), families[c.modelType()].architectures, ErrNotCausalLM)
}

// EncoderBatch is the input of an encoder classifier: b sequences of T
// tokens each, row-major [b, T], as a tokenizer's padded batch gives them.
type EncoderBatch struct {
	IDs []int32 // token ids, b·T of them
	// TypeIDs are the token type (segment) ids; nil means all 0.
	// DistilBERT ignores them.
	TypeIDs []int32
	// Mask is the attention mask: 1 for a token, 0 for padding, which no
	// position attends to; nil means all 1. Every sequence needs a token.
	Mask []int32
	T    int // tokens per sequence
}

// ClassifierState holds the activations of an encoder classifier's
// forward and backward passes for up to B sequences of up to T tokens, and
// the buffers that let repeated passes run without allocating. Like State,
// it belongs to one model and one goroutine.
type ClassifierState struct {
	m     *Model
	B, T  int
	train bool
	// Hook, when set, sees the inputs of every linear layer inside the
	// blocks during Forward (rows of padding included: the batch's Mask
	// says which they are).
	Hook LinearHook

	refs []blockRefs
	g    encoderRefs
	// The batch of the last Forward, checked, with its position ids.
	ids, types, mask, pos []int32
	emb                   []float32 // [rows, hidden] sum of the embeddings
	embN                  normActs  // embeddings LayerNorm: block 0's input
	acts                  []encoderActs
	cls                   []float32 // [B, hidden] first token of the last block's output
	pre                   []float32 // [B, hidden] pooler / pre_classifier before its activation
	pooled                []float32 // [B, hidden] after tanh (ReLU for DistilBERT)
	logits                []float32 // [B, labels]
	dlogits               []float32 // TrainStep's loss gradient
	work                  attnWork
	b, t                  int
	backward              bool
	grad                  encoderGrads
}

// encoderRefs locate the parameters outside the blocks.
type encoderRefs struct {
	word, pos, typ, norm, normb, pool, poolb, out, outb span
	relu                                                bool // DistilBERT's pre_classifier activation (else tanh)
}

// encoderActs are one block's saved activations over B·T rows.
type encoderActs struct {
	qkv  []float32 // [rows, 3·heads·headDim]
	att  []float32 // [B, heads, T, T] probabilities (training only)
	y    []float32 // [rows, heads·headDim] attention output, input of o
	pre1 []float32 // [rows, hidden] x + o(y): the attention LayerNorm's input
	n1   normActs  // its output: input of the MLP
	fc   []float32 // [rows, inter] before GELU
	act  []float32 // [rows, inter] input of down
	pre2 []float32 // [rows, hidden] n1 + down(act): the output LayerNorm's input
	n2   normActs  // the block's output
}

// encoderGrads are backward scratch buffers sized for the widest layer.
type encoderGrads struct {
	dres, dpre, dxn, dqkv, dy, dfc, dact []float32
	dcls, dpooled                        []float32
}

// NewClassifierState returns a ClassifierState for forward and backward
// passes over batches of up to B sequences of up to T tokens: it keeps
// every layer's activations. Use NewClassifierInferenceState when no
// backward pass is needed.
func NewClassifierState(m *Model, B, T int) (*ClassifierState, error) {
	return newClassifierState(m, B, T, true)
}

// NewClassifierInferenceState returns a ClassifierState for Forward only:
// activations are kept for one layer at a time.
func NewClassifierInferenceState(m *Model, B, T int) (*ClassifierState, error) {
	return newClassifierState(m, B, T, false)
}

func newClassifierState(m *Model, B, T int, train bool) (*ClassifierState, error) {
	c := &m.Config
	if c.Arch != BERT {
		return nil, fmt.Errorf("model type %q is not an encoder classifier (bert, roberta, distilbert)", c.modelType())
	}
	if m.Lazy() {
		return nil, errors.New("encoder classifiers run on resident weights: this model was opened lazily (model.Open); load it with model.Load")
	}
	if err := m.checkShapes(); err != nil {
		return nil, err
	}
	if B <= 0 || T <= 0 {
		return nil, fmt.Errorf("batch %d × sequence %d: both must be positive", B, T)
	}
	if T > c.MaxSeqLen() {
		return nil, fmt.Errorf("sequence length %d exceeds the model's %d positions", T, c.MaxSeqLen())
	}
	if err := CheckStateSize(c, B, T, train); err != nil {
		return nil, err
	}
	s := &ClassifierState{m: m, B: B, T: T, train: train}
	var err error
	if s.refs, s.g, err = buildEncoderRefs(m.Layout, c); err != nil {
		return nil, err
	}
	n, H, L := B*T, c.Hidden, len(c.Labels)
	s.ids, s.types, s.mask, s.pos = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	s.emb = make([]float32, n*H)
	s.embN = newLayerNormActs(n, H)
	nacts := 1
	if train {
		nacts = len(c.Layers)
	}
	s.acts = make([]encoderActs, nacts)
	for l := range s.acts {
		d := c.maxDims()
		if train {
			d = c.Layers[l]
		}
		s.acts[l] = newEncoderActs(c, d, B, T, train)
	}
	s.cls, s.pre, s.pooled = make([]float32, B*H), make([]float32, B*H), make([]float32, B*H)
	s.logits = make([]float32, B*L)
	return s, nil
}

func newLayerNormActs(n, H int) normActs {
	return normActs{out: make([]float32, n*H), mean: make([]float32, n), rstd: make([]float32, n)}
}

func newEncoderActs(c *Config, d LayerDims, B, T int, train bool) encoderActs {
	n, H, qd := B*T, c.Hidden, d.Heads*c.HeadDim
	a := encoderActs{
		qkv: make([]float32, n*3*qd), y: make([]float32, n*qd),
		pre1: make([]float32, n*H), n1: newLayerNormActs(n, H),
		fc: make([]float32, n*d.Intermediate), act: make([]float32, n*d.Intermediate),
		pre2: make([]float32, n*H), n2: newLayerNormActs(n, H),
	}
	if train {
		a.att = make([]float32, B*d.Heads*T*T)
	}
	return a
}

// buildEncoderRefs resolves an encoder's parameters by role.
func buildEncoderRefs(l *Layout, c *Config) ([]blockRefs, encoderRefs, error) {
	b := &refBuilder{l: l}
	g := encoderRefs{
		word: b.span(-1, RoleEmbed), pos: b.span(-1, RolePosEmbed), typ: b.span(-1, RoleTypeEmbed),
		norm: b.span(-1, RoleEmbedNorm), normb: b.span(-1, RoleEmbedNormBias),
		pool: b.span(-1, RolePooler), poolb: b.span(-1, RolePoolerBias),
		out: b.span(-1, RoleClassifier), outb: b.span(-1, RoleClassifierBias),
		relu: c.modelType() == "distilbert",
	}
	refs := make([]blockRefs, len(c.Layers))
	for i, d := range c.Layers {
		r := &refs[i]
		r.d = d
		r.qkv, r.attnIn = b.named(i, RoleQ, RoleK, RoleV)
		r.qkvb = b.span(i, RoleQBias, RoleKBias, RoleVBias)
		r.o, r.oIn = b.named(i, RoleO)
		r.ob = b.span(i, RoleOBias)
		r.norm1, r.norm1b = b.span(i, RoleAttnNorm), b.span(i, RoleAttnNormBias)
		r.fc, r.mlpIn = b.named(i, RoleUp)
		r.fcb = b.span(i, RoleUpBias)
		r.down, r.downIn = b.named(i, RoleDown)
		r.dn = b.span(i, RoleDownBias)
		r.norm2, r.norm2b = b.span(i, RoleMLPNorm), b.span(i, RoleMLPNormBias)
	}
	return refs, g, b.err
}

// actsFor returns the activation buffers of block l.
func (s *ClassifierState) actsFor(l int) *encoderActs {
	if s.train {
		return &s.acts[l]
	}
	return &s.acts[0]
}

// blockIn is block l's input: the embeddings for block 0, else the
// previous block's output (for training States; an inference State
// overwrites it in place).
func (s *ClassifierState) blockIn(l int) []float32 {
	if l == 0 {
		return s.embN.out
	}
	return s.actsFor(l - 1).n2.out
}

// Output returns the last block's output from the last Forward: b·T rows
// of the hidden size (padding rows included), owned by the State and
// overwritten by the next pass. Block Influence compares it with the last
// block's input.
func (s *ClassifierState) Output() []float32 {
	return s.actsFor(len(s.refs) - 1).n2.out[:s.b*s.t*s.m.Config.Hidden]
}

// allocGrad sizes the backward scratch buffers on first use.
func (s *ClassifierState) allocGrad() {
	if s.grad.dres != nil {
		return
	}
	c := &s.m.Config
	w := c.maxDims()
	n, H, qd := s.B*s.T, c.Hidden, w.Heads*c.HeadDim
	s.grad = encoderGrads{
		dres: make([]float32, n*H), dpre: make([]float32, n*H), dxn: make([]float32, n*H),
		dqkv: make([]float32, n*3*qd), dy: make([]float32, n*qd),
		dfc: make([]float32, n*w.Intermediate), dact: make([]float32, n*w.Intermediate),
		dcls: make([]float32, s.B*H), dpooled: make([]float32, s.B*H),
	}
	s.dlogits = make([]float32, s.B*len(c.Labels))
}

// encoderStateBytes is StateBytes for an encoder classifier: the input
// copies, the embeddings, one layer's activations (every layer's, with the
// attention probabilities, for training), the head, and for training the
// backward scratch.
func encoderStateBytes(c *Config, B, T int, train bool) int64 {
	n, H := float64(B)*float64(T), float64(c.Hidden)
	norm := n*H + 2*n
	block := func(d LayerDims) float64 {
		qd, I := float64(d.Heads*c.HeadDim), float64(d.Intermediate)
		f := n*3*qd + n*qd + 2*(n*H+norm) + 2*n*I
		if train {
			f += float64(B) * float64(d.Heads) * float64(T) * float64(T)
		}
		return f
	}
	floats := 4*n + n*H + norm + 3*float64(B)*H + float64(B)*float64(len(c.Labels))
	if train {
		for _, d := range c.Layers {
			floats += block(d)
		}
		w := c.maxDims()
		qd := float64(w.Heads * c.HeadDim)
		floats += 3*n*H + 4*n*qd + 2*n*float64(w.Intermediate) + 2*float64(B)*H + float64(B)*float64(len(c.Labels))
	} else {
		floats += block(c.maxDims())
	}
	if b := 4 * floats; b < math.MaxInt64 {
		return int64(b)
	}
	return math.MaxInt64
}
