package model

import (
	"context"
	"fmt"

	"lopper/internal/par"
	"lopper/model/tensor"
)

// Forward runs the model on len(tokens)/T sequences of the State's T tokens
// each (at most B of them, row-major [b, T]) and returns the logits
// [b·T, vocab]. The slice belongs to the State and is overwritten by the
// next pass. Positions restart at 0 in every sequence.
func (s *State) Forward(tokens []int32) ([]float32, error) {
	if len(tokens) == 0 || len(tokens)%s.T != 0 {
		return nil, fmt.Errorf("forward: %d tokens is not a whole number of sequences of %d", len(tokens), s.T)
	}
	return s.ForwardBatch(tokens, len(tokens)/s.T, s.T)
}

// ForwardBatch is Forward for b ≤ B sequences of T ≤ the State's T tokens
// each; Backward then uses the same b and T.
func (s *State) ForwardBatch(tokens []int32, b, T int) ([]float32, error) {
	s.backward = false
	if err := s.checkBT(b, T); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if len(tokens) != b*T {
		return nil, fmt.Errorf("forward: %d tokens for %d × %d", len(tokens), b, T)
	}
	if err := s.m.Pin(context.Background(), s.pins.outer...); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	defer s.m.Unpin(s.pins.outer...)
	if err := s.embed(s.res[0], tokens, b, T); err != nil {
		return nil, err
	}
	for l := range s.refs {
		if err := s.pinnedBlock(l, s.resIn(l), s.resOut(l), b, T, s.Hook); err != nil {
			return nil, err
		}
	}
	s.head(s.resIn(len(s.refs)), b*T)
	s.tokens = append(s.tokens[:0], tokens...)
	s.b, s.t = b, T
	s.backward = s.train
	return s.logits[:b*T*s.m.Config.Vocab], nil
}

// Embed returns the block-0 input for b sequences of T tokens: token
// embeddings (plus GPT-2's position embeddings), [b·T, hidden], in a new
// slice. Together with BlockForward and Head it runs the model block by
// block, as calibration does.
func (s *State) Embed(tokens []int32, b, T int) ([]float32, error) {
	if err := s.checkBT(b, T); err != nil {
		return nil, err
	}
	if len(tokens) != b*T {
		return nil, fmt.Errorf("embed: %d tokens for %d × %d", len(tokens), b, T)
	}
	if err := s.m.Pin(context.Background(), s.pins.embed...); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	defer s.m.Unpin(s.pins.embed...)
	h := make([]float32, b*T*s.m.Config.Hidden)
	return h, s.embed(h, tokens, b, T)
}

// BlockForward runs block layer on h ([b·T, hidden]) in place. hook, if not
// nil, sees the input of each linear layer.
func (s *State) BlockForward(layer int, h []float32, b, T int, hook LinearHook) error {
	if err := s.checkBT(b, T); err != nil {
		return err
	}
	if layer < 0 || layer >= len(s.refs) {
		return fmt.Errorf("block %d: the model has %d blocks", layer, len(s.refs))
	}
	if len(h) != b*T*s.m.Config.Hidden {
		return fmt.Errorf("block %d: hidden state has %d values, want %d × %d × %d", layer, len(h), b, T, s.m.Config.Hidden)
	}
	s.backward = false
	return s.pinnedBlock(layer, h, h, b, T, hook)
}

// pinnedBlock runs block l (see block) with its tensors pinned.
func (s *State) pinnedBlock(l int, in, out []float32, b, T int, hook LinearHook) error {
	ts := s.pins.block(l)
	if err := s.m.Pin(context.Background(), ts...); err != nil {
		return fmt.Errorf("block %d: %w", l, err)
	}
	defer s.m.Unpin(ts...)
	s.block(l, in, out, b, T, hook)
	return nil
}

// Head applies the final norm and the LM head to h ([b·T, hidden]) and
// returns logits [b·T, vocab] (owned by the State, like Forward's).
func (s *State) Head(h []float32, b, T int) ([]float32, error) {
	if err := s.checkBT(b, T); err != nil {
		return nil, err
	}
	if len(h) != b*T*s.m.Config.Hidden {
		return nil, fmt.Errorf("head: hidden state has %d values, want %d × %d × %d", len(h), b, T, s.m.Config.Hidden)
	}
	s.backward = false
	if err := s.m.Pin(context.Background(), s.pins.head...); err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	defer s.m.Unpin(s.pins.head...)
	s.head(h, b*T)
	return s.logits[:b*T*s.m.Config.Vocab], nil
}

func (s *State) checkBT(b, T int) error {
	if b <= 0 || T <= 0 || b > s.B || T > s.T {
		return fmt.Errorf("batch %d × %d does not fit the State's %d × %d", b, T, s.B, s.T)
	}
	return nil
}

// embed writes token (and position) embeddings for b sequences of T tokens.
func (s *State) embed(h []float32, tokens []int32, b, T int) error {
	c := &s.m.Config
	H := c.Hidden
	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("token %d at position %d is outside the vocabulary of %d", t, i, c.Vocab)
		}
	}
	if serialRows(b*T, H) {
		s.embedRows(h, tokens, T, 0, b*T)
		return nil
	}
	par.Chunks(b*T, rowChunk, func(r0, r1 int) { s.embedRows(h, tokens, T, r0, r1) })
	return nil
}

func (s *State) embedRows(h []float32, tokens []int32, T, r0, r1 int) {
	H := s.m.Config.Hidden
	emb, pos := s.globals.embed.of(s.m.W), s.globals.pos.of(s.m.W)
	for r := r0; r < r1; r++ {
		row := h[r*H : (r+1)*H]
		copy(row, emb[int(tokens[r])*H:])
		if s.embScale != 1 {
			tensor.Scale(row, s.embScale)
		}
		if pos != nil {
			tensor.AddInPlace(row, pos[(r%T)*H:])
		}
	}
}

// block runs transformer block l from in to out (which may alias) for b
// sequences of T tokens, saving activations in the block's buffers.
func (s *State) block(l int, in, out []float32, b, T int, hook LinearHook) {
	c, W, r, a := &s.m.Config, s.m.W, &s.refs[l], s.actsFor(l)
	n, H, I := b*T, c.Hidden, r.d.Intermediate
	g := c.layerGeom(l, r.d)
	qd, fw := r.d.Heads*c.HeadDim, fcWidth(c, r.d)

	x1 := s.preNorm(&a.n1, in, r.norm1, r.norm1b, n)
	if hook != nil {
		hook(r.attnIn, x1[:n*H], n, H)
	}
	linear(a.qkv, x1, r.qkv.of(W), r.qkvb.of(W), n, g.stride, H, false)
	if c.Arch == Llama {
		s.ropeForward(a, r, l, n, T)
	}
	attention(a.y, a.att, a.qkv, g, b, T, &s.work)
	if hook != nil {
		hook(r.oIn, a.y[:n*qd], n, qd)
	}
	s.residual(a.mid, in, a.y, r.o.of(W), r.ob.of(W), r.postAttn.of(W), &a.pn1, a.ao, n, H, qd)

	x2 := s.preNorm(&a.n2, a.mid, r.norm2, r.norm2b, n)
	if hook != nil {
		hook(r.mlpIn, x2[:n*H], n, H)
	}
	linear(a.fc, x2, r.fc.of(W), r.fcb.of(W), n, fw, H, false)
	s.activate(a.act, a.fc, n, I)
	if hook != nil {
		hook(r.downIn, a.act[:n*I], n, I)
	}
	s.residual(out, a.mid, a.act, r.down.of(W), r.dn.of(W), r.postMLP.of(W), &a.pn2, a.do, n, H, I)
}

// preNorm returns a branch's input for n rows of x: its norm (weights w,
// b), or x itself when the block has none (OLMo 2).
func (s *State) preNorm(a *normActs, x []float32, w, b span, n int) []float32 {
	if w.n == 0 {
		return x
	}
	s.norm(a, x, w.of(s.m.W), b.of(s.m.W), n)
	return a.out
}

// head computes the final norm and the logits for n rows of h.
func (s *State) head(h []float32, n int) {
	c, W := &s.m.Config, s.m.W
	s.norm(&s.fin, h, s.globals.norm.of(W), s.globals.normb.of(W), n)
	if s.logits == nil {
		s.logits = make([]float32, s.B*s.T*c.Vocab)
	}
	linear(s.logits, s.fin.out, s.globals.head.of(W), nil, n, c.Vocab, c.Hidden, false)
	if c.FinalSoftcap > 0 {
		softcapRows(s.logits, c.FinalSoftcap, n, c.Vocab)
	}
}
