package model

import (
	"errors"
	"fmt"

	"lopper/model/tensor"
)

// Backward accumulates into grads (a flat buffer over the model's layout)
// the gradient of a loss given dlogits, its gradient with respect to the
// logits of the last Forward on this training State. Entries the model's
// Mask prunes are set to exactly zero.
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
	if len(grads) != s.m.Layout.Total {
		return fmt.Errorf("backward: grads has %d values, the layout %d", len(grads), s.m.Layout.Total)
	}
	s.allocGrad()
	g := &s.grad
	W, H := s.m.W, c.Hidden
	L := len(s.refs)

	// Head: logits = norm(h)·Wᵀ, capped (Gemma 2).
	gl := &s.globals
	if c.FinalSoftcap > 0 {
		softcapBackward(g.dlog[:n*c.Vocab], dlogits, s.logits[:n*c.Vocab], c.FinalSoftcap)
		dlogits = g.dlog[:n*c.Vocab]
	}
	linearBackward(g.dxn, gl.head.of(grads), nil, dlogits, s.fin.out, gl.head.of(W), n, c.Vocab, H)
	clear(g.dres[:n*H])
	s.normBackward(g.dres, gl.norm.of(grads), gl.normb.of(grads), g.dxn, s.res[L], gl.norm.of(W), &s.fin, n)

	for l := L - 1; l >= 0; l-- {
		s.blockBackward(l, grads)
	}

	// Embeddings, in row order.
	emb, pos := gl.embed.of(grads), gl.pos.of(grads)
	for r, t := range s.tokens[:n] {
		if s.embScale != 1 {
			tensor.Axpy(emb[int(t)*H:(int(t)+1)*H], s.embScale, g.dres[r*H:(r+1)*H])
		} else {
			tensor.AddInPlace(emb[int(t)*H:(int(t)+1)*H], g.dres[r*H:(r+1)*H])
		}
		if pos != nil {
			p := r % s.t
			tensor.AddInPlace(pos[p*H:(p+1)*H], g.dres[r*H:(r+1)*H])
		}
	}
	applyMask(grads, s.m.Mask)
	return nil
}

// blockBackward takes g.dres = ∂L/∂(block output) to ∂L/∂(block input),
// accumulating the block's parameter gradients into grads.
func (s *State) blockBackward(l int, grads []float32) {
	c, W, r, a, g := &s.m.Config, s.m.W, &s.refs[l], &s.acts[l], &s.grad
	b, T := s.b, s.t
	n, H, I := b*T, c.Hidden, r.d.Intermediate
	geo := c.layerGeom(l, r.d)
	qd, fw := r.d.Heads*c.HeadDim, fcWidth(c, r.d)

	// MLP: out = mid + [post-norm](down(act(fc(norm2(mid))))).
	dd := s.residualBackward(g.dres, g.dpost, r.postMLP.of(grads), r.postMLP.of(W), &a.pn2, a.do, n, H)
	linearBackward(g.dact, r.down.of(grads), r.dn.of(grads), dd, a.act, r.down.of(W), n, H, I)
	s.activateBackward(g.dfc, g.dact, a.fc, n, I)
	linearBackward(g.dxn, r.fc.of(grads), r.fcb.of(grads), g.dfc, s.branchInput(&a.n2, a.mid, r.norm2), r.fc.of(W), n, fw, H)
	s.preNormBackward(grads, &a.n2, a.mid, r.norm2, r.norm2b, n)

	// Attention: mid = in + [post-norm](o(attn(qkv(norm1(in))))).
	do := s.residualBackward(g.dres, g.dpost, r.postAttn.of(grads), r.postAttn.of(W), &a.pn1, a.ao, n, H)
	linearBackward(g.dy, r.o.of(grads), r.ob.of(grads), do, a.y, r.o.of(W), n, H, qd)
	attentionBackward(g.dqkv, g.dy, a.att, a.qkv, geo, b, T, &s.work)
	if c.Arch == Llama {
		s.ropeBackward(g.dqkv, a, r, grads, l, n, T)
	}
	linearBackward(g.dxn, r.qkv.of(grads), r.qkvb.of(grads), g.dqkv, s.branchInput(&a.n1, s.res[l], r.norm1), r.qkv.of(W), n, geo.stride, H)
	s.preNormBackward(grads, &a.n1, s.res[l], r.norm1, r.norm1b, n)
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
func (s *State) preNormBackward(grads []float32, a *normActs, x []float32, w, b span, n int) {
	g, H := &s.grad, s.m.Config.Hidden
	if w.n == 0 {
		tensor.AddInPlace(g.dres[:n*H], g.dxn[:n*H])
		return
	}
	s.normBackward(g.dres, w.of(grads), b.of(grads), g.dxn, x, w.of(s.m.W), a, n)
}
