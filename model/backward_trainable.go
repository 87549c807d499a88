package model

import (
	"errors"

	"lopper/model/tensor"
)

// TrainOptions are the memory options of a training State.
type TrainOptions struct {
	// Trainable selects the tensors Backward computes gradients for (nil:
	// every tensor); its gradients buffer then has Trainable.Total values.
	Trainable *Trainable
	// Recompute keeps only each block's input (the residual stream) in
	// Forward; Backward recomputes a block's activations just before its
	// backward pass. Activation memory is one block's instead of every
	// block's, for one more forward pass per step; results are
	// bit-identical.
	Recompute bool
}

// NewTrainState is NewState with memory options.
func NewTrainState(m *Model, B, T int, o TrainOptions) (*State, error) {
	if t := o.Trainable; t != nil && (len(t.Offset) != len(m.Layout.Tensors) || t.layout.Total != m.Layout.Total) {
		return nil, errors.New("trainable: the selection is over another layout than the model's")
	}
	s, err := newState(m, B, T, true, o.Recompute)
	if err != nil {
		return nil, err
	}
	if o.Trainable != nil {
		s.setTrainable(o.Trainable)
	}
	return s, nil
}

// blockGrads locate one block's gradients in the compact buffer, field
// by field as blockRefs.
type blockGrads struct {
	norm1, norm1b, qkv, qkvb, o, ob  gradSpan
	qn, kn                           gradSpan
	postAttn, postMLP                gradSpan
	norm2, norm2b, fc, fcb, down, dn gradSpan
}

type globalGrads struct {
	embed, pos, norm, normb, head gradSpan
}

// setTrainable maps the parameter spans onto t's compact buffers and
// finds the lowest block the backward pass must reach.
func (s *State) setTrainable(t *Trainable) {
	s.sel = t
	m := t.gradSpanOf
	gl := &s.globals
	s.ggrads = globalGrads{embed: m(gl.embed), pos: m(gl.pos), norm: m(gl.norm), normb: m(gl.normb), head: m(gl.head)}
	s.grefs = make([]blockGrads, len(s.refs))
	s.stop = len(s.refs)
	for l := range s.refs {
		r := &s.refs[l]
		g := blockGrads{
			norm1: m(r.norm1), norm1b: m(r.norm1b), qkv: m(r.qkv), qkvb: m(r.qkvb), o: m(r.o), ob: m(r.ob),
			qn: m(r.qn), kn: m(r.kn), postAttn: m(r.postAttn), postMLP: m(r.postMLP),
			norm2: m(r.norm2), norm2b: m(r.norm2b), fc: m(r.fc), fcb: m(r.fcb), down: m(r.down), dn: m(r.dn),
		}
		s.grefs[l] = g
		for _, x := range []gradSpan{g.norm1, g.norm1b, g.qkv, g.qkvb, g.o, g.ob, g.qn, g.kn, g.postAttn, g.postMLP, g.norm2, g.norm2b, g.fc, g.fcb, g.down, g.dn} {
			if !x.frozen() {
				s.stop = min(s.stop, l)
			}
		}
	}
	if !s.ggrads.embed.frozen() || !s.ggrads.pos.frozen() {
		s.stop = 0
	}
}

// gradOf returns where the backward pass writes span g's gradient: its
// slice of grads when all of it is trainable; nil when it is absent, or
// frozen and skip allows (the product is not computed); otherwise scratch
// slot k, cleared, whose trainable parts flushGrad adds to grads.
func (s *State) gradOf(g gradSpan, grads []float32, k int, skip bool) []float32 {
	switch {
	case g.full == 0:
		return nil
	case g.n > 0:
		return g.of(grads)
	case g.parts == nil && skip:
		return nil
	}
	if cap(s.gscratch[k]) < g.full {
		s.gscratch[k] = make([]float32, g.full)
	}
	b := s.gscratch[k][:g.full]
	clear(b)
	return b
}

// flushGrad adds the trainable parts of scratch slot k to grads.
func (s *State) flushGrad(g gradSpan, grads []float32, k int) {
	for _, p := range g.parts {
		tensor.AddInPlace(grads[p.to:p.to+p.n], s.gscratch[k][p.from:p.from+p.n])
	}
}

// linearGrad is linearBackward into the compact gradients: a frozen
// weight's (or bias's) gradient is not computed.
func (s *State) linearGrad(dx []float32, gw, gb gradSpan, grads, dy, x, w []float32, n, out, in int) {
	dw, db := s.gradOf(gw, grads, 0, true), s.gradOf(gb, grads, 1, true)
	linearBackward(dx, dw, db, dy, x, w, n, out, in)
	s.flushGrad(gw, grads, 0)
	s.flushGrad(gb, grads, 1)
}

// normGrad is normBackward into the compact gradients; a frozen norm's
// weight gradient goes to scratch (the kernel computes it with dx).
func (s *State) normGrad(dx []float32, gw, gb gradSpan, grads, dout, x, w []float32, a *normActs, n int) {
	dw, db := s.gradOf(gw, grads, 0, false), s.gradOf(gb, grads, 1, true)
	s.normBackward(dx, dw, db, dout, x, w, a, n)
	s.flushGrad(gw, grads, 0)
	s.flushGrad(gb, grads, 1)
}

// residualGrad is residualBackward into the compact gradients.
func (s *State) residualGrad(gpost gradSpan, grads, post []float32, pn *normActs, tmp []float32, n int) []float32 {
	dw := s.gradOf(gpost, grads, 0, false)
	d := s.residualBackward(s.grad.dres, s.grad.dpost, dw, post, pn, tmp, n, s.m.Config.Hidden)
	s.flushGrad(gpost, grads, 0)
	return d
}

// maskGrads zeroes the gradients of the entries the model's mask prunes.
func (s *State) maskGrads(grads []float32) {
	mask := s.m.Mask
	if mask == nil {
		return
	}
	if s.sel.All() {
		mask.ApplyTo(grads, 0)
		return
	}
	for i, ti := range s.m.Layout.Tensors {
		if o := s.sel.Offset[i]; o >= 0 {
			mask.ApplyTo(grads[o:o+ti.Size], ti.Offset)
		}
	}
}
