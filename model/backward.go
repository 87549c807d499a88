package model

import (
	"errors"
	"fmt"

	"lopper/model/tensor"
)

// Backward accumulates into grads the gradient of a loss given dlogits,
// its gradient with respect to the logits of the last Forward on this
// training State. grads is a flat buffer over the model's layout, or, for
// a State made with TrainOptions.Trainable, over that selection's compact
// layout (Trainable.Total values): frozen tensors get no gradient, their
// weight products are skipped, and blocks below the lowest trainable one
// are not visited. Entries the model's Mask prunes are set to exactly
// zero. With TrainOptions.Recompute each Forward allows one Backward.
func (s *State) Backward(dlogits, grads []float32) error {
	if s.m.Lazy() {
		return errTrainLazy
	}
	if !s.train {
		return errors.New("backward: an inference State keeps no activations (use NewState)")
	}
	if !s.backward {
		return errors.New("backward: needs a Forward on this State first (BlockForward and Head do not count)")
	}
	c := &s.m.Config
	n := s.b * s.t
	if len(dlogits) != n*c.Vocab {
		return fmt.Errorf("backward: dlogits has %d values, want %d × %d", len(dlogits), n, c.Vocab)
	}
	if s.sel == nil {
		s.setTrainable(AllTrainable(s.m.Layout))
	}
	if len(grads) != s.sel.Total {
		return fmt.Errorf("backward: grads has %d values, the trainable layout %d", len(grads), s.sel.Total)
	}
	s.allocGrad()
	g := &s.grad
	W, H := s.m.W, c.Hidden
	L := len(s.refs)

	// Head: logits = norm(h)·Wᵀ, capped (Gemma 2).
	gl, gg := &s.globals, &s.ggrads
	if c.FinalSoftcap > 0 {
		softcapBackward(g.dlog[:n*c.Vocab], dlogits, s.logits[:n*c.Vocab], c.FinalSoftcap)
		dlogits = g.dlog[:n*c.Vocab]
	}
	s.linearGrad(g.dxn, gg.head, gradSpan{}, grads, dlogits, s.fin.out, gl.head.of(W), n, c.Vocab, H)
	clear(g.dres[:n*H])
	s.normGrad(g.dres, gg.norm, gg.normb, grads, g.dxn, s.res[L], gl.norm.of(W), &s.fin, n)

	for l := L - 1; l >= s.stop; l-- {
		if s.recompute && l < L-1 { // the last block's activations are the forward pass's
			s.block(l, s.res[l], s.res[l+1], s.b, s.t, nil)
		}
		s.blockBackward(l, grads)
	}
	if s.recompute {
		s.backward = false // the saved activations are no longer the last block's
	}

	// Embeddings, in row order.
	emb, pos := gg.embed.of(grads), gg.pos.of(grads)
	if emb != nil || pos != nil {
		for r, t := range s.tokens[:n] {
			switch {
			case emb == nil:
			case s.embScale != 1:
				tensor.Axpy(emb[int(t)*H:(int(t)+1)*H], s.embScale, g.dres[r*H:(r+1)*H])
			default:
				tensor.AddInPlace(emb[int(t)*H:(int(t)+1)*H], g.dres[r*H:(r+1)*H])
			}
			if pos != nil {
				p := r % s.t
				tensor.AddInPlace(pos[p*H:(p+1)*H], g.dres[r*H:(r+1)*H])
			}
		}
	}
	s.maskGrads(grads)
	return nil
}

// blockBackward takes g.dres = ∂L/∂(block output) to ∂L/∂(block input),
// accumulating the block's parameter gradients into grads.
func (s *State) blockBackward(l int, grads []float32) {
	c, W, r, a, g, gr := &s.m.Config, s.m.W, &s.refs[l], s.actsFor(l), &s.grad, &s.grefs[l]
	b, T := s.b, s.t
	n, H, I := b*T, c.Hidden, r.d.Intermediate
	geo := c.layerGeom(l, r.d)
	qd, fw := r.d.Heads*c.HeadDim, fcWidth(c, r.d)

	// MLP: out = mid + [post-norm](down(act(fc(norm2(mid))))).
	dd := s.residualGrad(gr.postMLP, grads, r.postMLP.of(W), &a.pn2, a.do, n)
	s.linearGrad(g.dact, gr.down, gr.dn, grads, dd, a.act, r.down.of(W), n, H, I)
	s.activateBackward(g.dfc, g.dact, a.fc, n, I)
	s.linearGrad(g.dxn, gr.fc, gr.fcb, grads, g.dfc, s.branchInput(&a.n2, a.mid, r.norm2), r.fc.of(W), n, fw, H)
	s.preNormBackward(grads, &a.n2, a.mid, r.norm2, gr.norm2, gr.norm2b, n)

	// Attention: mid = in + [post-norm](o(attn(qkv(norm1(in))))).
	do := s.residualGrad(gr.postAttn, grads, r.postAttn.of(W), &a.pn1, a.ao, n)
	s.linearGrad(g.dy, gr.o, gr.ob, grads, do, a.y, r.o.of(W), n, H, qd)
	attentionBackward(g.dqkv, g.dy, a.att, a.qkv, geo, b, T, &s.work)
	if c.Arch == Llama {
		gq, gk := s.gradOf(gr.qn, grads, 0, false), s.gradOf(gr.kn, grads, 1, false)
		s.ropeBackward(g.dqkv, a, r, gq, gk, l, n, T)
		s.flushGrad(gr.qn, grads, 0)
		s.flushGrad(gr.kn, grads, 1)
	}
	s.linearGrad(g.dxn, gr.qkv, gr.qkvb, grads, g.dqkv, s.branchInput(&a.n1, s.res[l], r.norm1), r.qkv.of(W), n, geo.stride, H)
	s.preNormBackward(grads, &a.n1, s.res[l], r.norm1, gr.norm1, gr.norm1b, n)
}

// branchInput is what preNorm returned in the forward pass.
func (s *State) branchInput(a *normActs, x []float32, w span) []float32 {
	if w.n == 0 {
		return x
	}
	return a.out
}

// preNormBackward adds to g.dres the gradient of a branch's input x given
// g.dxn, the gradient of what preNorm returned, and accumulates the norm's
// weight gradients.
func (s *State) preNormBackward(grads []float32, a *normActs, x []float32, w span, gw, gb gradSpan, n int) {
	g, H := &s.grad, s.m.Config.Hidden
	if w.n == 0 {
		tensor.AddInPlace(g.dres[:n*H], g.dxn[:n*H])
		return
	}
	s.normGrad(g.dres, gw, gb, grads, g.dxn, x, w.of(s.m.W), a, n)
}
