package model

import (
	"errors"
	"fmt"

	"lopper/internal/par"
	"lopper/model/tensor"
)

// Backward accumulates into grads (a flat buffer over the model's layout)
// the gradient of a loss given dlogits [b, num_labels], its gradient with
// respect to the logits of the last Forward on this training State.
// Entries the model's Mask prunes are set to exactly zero; the embedding
// rows of pad_token_id (and RoBERTa's pad position) get none, as
// transformers' nn.Embedding(padding_idx) gives them none.
func (s *ClassifierState) Backward(dlogits, grads []float32) error {
	if !s.train {
		return errors.New("backward: an inference State keeps no activations (use NewClassifierState)")
	}
	if !s.backward {
		return errors.New("backward: needs a Forward on this State first")
	}
	c := &s.m.Config
	b, T := s.b, s.t
	n, H, L := b*T, c.Hidden, len(c.Labels)
	if len(dlogits) != b*L {
		return fmt.Errorf("backward: dlogits has %d values, want %d × %d", len(dlogits), b, L)
	}
	if len(grads) != s.m.Layout.Total {
		return fmt.Errorf("backward: grads has %d values, the layout %d", len(grads), s.m.Layout.Total)
	}
	s.allocGrad()
	gr, W, g := &s.grad, s.m.W, &s.g

	// Head: logits = out(act(pool(cls))).
	linearBackward(gr.dpooled, g.out.of(grads), g.outb.of(grads), dlogits, s.pooled, g.out.of(W), b, L, H)
	for i, p := range s.pooled[:b*H] {
		if g.relu {
			if s.pre[i] <= 0 {
				gr.dpooled[i] = 0
			}
		} else {
			gr.dpooled[i] *= 1 - p*p
		}
	}
	linearBackward(gr.dcls, g.pool.of(grads), g.poolb.of(grads), gr.dpooled, s.cls, g.pool.of(W), b, H, H)
	clear(gr.dres[:n*H])
	for bi := 0; bi < b; bi++ {
		copy(gr.dres[bi*T*H:bi*T*H+H], gr.dcls[bi*H:(bi+1)*H])
	}

	for l := len(s.refs) - 1; l >= 0; l-- {
		s.blockBackward(l, grads)
	}

	// Embeddings: LayerNorm, then each row into its tables, in row order.
	clear(gr.dxn[:n*H])
	tensor.LayerNormBackward(gr.dxn[:n*H], g.norm.of(grads), g.normb.of(grads), gr.dres[:n*H], s.emb[:n*H], g.norm.of(W), s.embN.mean[:n], s.embN.rstd[:n], n, H)
	word, pos, typ := g.word.of(grads), g.pos.of(grads), g.typ.of(grads)
	pad, roberta := int32(c.PadID), c.modelType() == "roberta"
	for r := range n {
		d := gr.dxn[r*H : (r+1)*H]
		if id := s.ids[r]; id != pad {
			tensor.AddInPlace(word[int(id)*H:(int(id)+1)*H], d)
		}
		if typ != nil {
			t := int(s.types[r])
			tensor.AddInPlace(typ[t*H:(t+1)*H], d)
		}
		if p := s.pos[r]; !roberta || p != pad {
			tensor.AddInPlace(pos[int(p)*H:(int(p)+1)*H], d)
		}
	}
	if s.m.Mask != nil {
		s.m.Mask.ApplyTo(grads, 0)
	}
	return nil
}

// blockBackward takes gr.dres = ∂L/∂(block l's output) to ∂L/∂(its
// input), accumulating the block's parameter gradients into grads.
func (s *ClassifierState) blockBackward(l int, grads []float32) {
	c, W, r, a, gr := &s.m.Config, s.m.W, &s.refs[l], &s.acts[l], &s.grad
	b, T := s.b, s.t
	n, H, I := b*T, c.Hidden, r.d.Intermediate
	geo := geomOf(r.d, c.HeadDim)
	qd := r.d.Heads * c.HeadDim
	x := s.blockIn(l)

	// out = LN_out(pre2), pre2 = n1 + down(gelu(up(n1))).
	clear(gr.dpre[:n*H])
	tensor.LayerNormBackward(gr.dpre[:n*H], r.norm2.of(grads), r.norm2b.of(grads), gr.dres[:n*H], a.pre2[:n*H], r.norm2.of(W), a.n2.mean[:n], a.n2.rstd[:n], n, H)
	linearBackward(gr.dact, r.down.of(grads), r.dn.of(grads), gr.dpre, a.act, r.down.of(W), n, H, I)
	geluBackward(gr.dfc, gr.dact, a.fc, n, I)
	linearBackward(gr.dxn, r.fc.of(grads), r.fcb.of(grads), gr.dfc, a.n1.out, r.fc.of(W), n, I, H)
	addResidual(gr.dxn, gr.dpre, n, H)

	// n1 = LN_att(pre1), pre1 = x + o(attention(qkv(x))).
	clear(gr.dpre[:n*H])
	tensor.LayerNormBackward(gr.dpre[:n*H], r.norm1.of(grads), r.norm1b.of(grads), gr.dxn[:n*H], a.pre1[:n*H], r.norm1.of(W), a.n1.mean[:n], a.n1.rstd[:n], n, H)
	linearBackward(gr.dy, r.o.of(grads), r.ob.of(grads), gr.dpre, a.y, r.o.of(W), n, H, qd)
	maskedAttentionBackward(gr.dqkv, gr.dy, a.att, a.qkv, geo, b, T, &s.work)
	linearBackward(gr.dres, r.qkv.of(grads), r.qkvb.of(grads), gr.dqkv, x, r.qkv.of(W), n, geo.stride, H)
	addResidual(gr.dres, gr.dpre, n, H)
}

// geluBackward overwrites dx with dout · GELU'(x) for n rows of width w.
func geluBackward(dx, dout, x []float32, n, w int) {
	if serialRows(n, w) {
		tensor.GELUBackward(dx[:n*w], dout[:n*w], x[:n*w])
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { tensor.GELUBackward(dx[r0*w:r1*w], dout[r0*w:r1*w], x[r0*w:r1*w]) })
}

// addResidual adds n rows of width w of src to dst.
func addResidual(dst, src []float32, n, w int) {
	if serialRows(n, w) {
		tensor.AddInPlace(dst[:n*w], src[:n*w])
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { tensor.AddInPlace(dst[r0*w:r1*w], src[r0*w:r1*w]) })
}
