package model

import (
	"context"
	"fmt"
	"math"
	"slices"

	"lopper/internal/par"
	"lopper/model/tensor"
)

// The forward pass of the encoder classifiers, as transformers computes it
// in eval mode (dropout is the identity):
//
//	x   = LN_emb(word[id] + type[tt] + pos[p])        (DistilBERT: no type)
//	per block (post-LN):
//	  a = LN_att(x + o(attention(q(x), k(x), v(x))))   bidirectional, padded keys masked
//	  x = LN_out(a + down(gelu(up(a))))
//	logits = out(act(pool(x[first token])))          act: tanh, DistilBERT ReLU
//
// Positions are 0 … T−1 for BERT and DistilBERT; RoBERTa numbers the
// tokens that are not pad_token_id from pad_token_id + 1 and gives pads
// pad_token_id (create_position_ids_from_input_ids).

// Forward runs the classifier on a batch of b ≤ B sequences of in.T ≤ T
// tokens and returns the logits [b, num_labels] (owned by the State,
// overwritten by the next pass). Errors name the sequence and position of
// a bad input.
func (s *ClassifierState) Forward(in EncoderBatch) ([]float32, error) {
	return s.forward(context.Background(), in)
}

// forward is Forward, looking at ctx before each block.
func (s *ClassifierState) forward(ctx context.Context, in EncoderBatch) ([]float32, error) {
	s.backward = false
	b, err := s.load(in)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	T := in.T
	s.embed(b * T)
	for l := range s.refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.block(l, b, T)
	}
	s.head(b, T)
	s.b, s.t = b, T
	s.backward = s.train
	return s.logits[:b*len(s.m.Config.Labels)], nil
}

// load checks the batch and copies it, with its position ids, into the
// State; it returns the number of sequences.
func (s *ClassifierState) load(in EncoderBatch) (int, error) {
	c := &s.m.Config
	T := in.T
	if T <= 0 || T > s.T || len(in.IDs) == 0 || len(in.IDs)%T != 0 || len(in.IDs)/T > s.B {
		return 0, fmt.Errorf("%d tokens in sequences of %d do not fit the State's %d × %d", len(in.IDs), T, s.B, s.T)
	}
	n := len(in.IDs)
	if in.TypeIDs != nil && len(in.TypeIDs) != n || in.Mask != nil && len(in.Mask) != n {
		return 0, fmt.Errorf("%d token ids, %d type ids and %d mask entries: want one each per token", n, len(in.TypeIDs), len(in.Mask))
	}
	for i, id := range in.IDs {
		if id < 0 || int(id) >= c.Vocab {
			return 0, fmt.Errorf("sequence %d, position %d: token %d is outside the vocabulary of %d", i/T, i%T, id, c.Vocab)
		}
	}
	copy(s.ids, in.IDs)
	clear(s.types[:n])
	if in.TypeIDs != nil && c.TypeVocab > 0 {
		for i, t := range in.TypeIDs {
			if t < 0 || int(t) >= c.TypeVocab {
				return 0, fmt.Errorf("sequence %d, position %d: token type %d is outside the model's %d types", i/T, i%T, t, c.TypeVocab)
			}
		}
		copy(s.types, in.TypeIDs)
	}
	mask := s.mask[:n]
	if in.Mask == nil {
		for i := range mask {
			mask[i] = 1
		}
	} else {
		for i, v := range in.Mask {
			if v != 0 && v != 1 {
				return 0, fmt.Errorf("sequence %d, position %d: attention mask %d is not 0 or 1", i/T, i%T, v)
			}
		}
		copy(mask, in.Mask)
	}
	b := n / T
	for bi := 0; bi < b; bi++ {
		if !slices.Contains(mask[bi*T:(bi+1)*T], 1) {
			return 0, fmt.Errorf("sequence %d: the attention mask hides every token", bi)
		}
	}
	s.positions(n, T)
	return b, nil
}

// positions fills the position ids of n rows of sequences of T tokens.
func (s *ClassifierState) positions(n, T int) {
	c := &s.m.Config
	if c.modelType() != "roberta" {
		for r := range n {
			s.pos[r] = int32(r % T)
		}
		return
	}
	pad := int32(c.PadID)
	var count int32
	for r, id := range s.ids[:n] {
		if r%T == 0 {
			count = 0
		}
		if id == pad {
			s.pos[r] = pad
			continue
		}
		count++
		s.pos[r] = pad + count
	}
}

// embed writes the embeddings' LayerNorm input and output for n rows.
func (s *ClassifierState) embed(n int) {
	H := s.m.Config.Hidden
	if serialRows(n, H) {
		s.embedRows(0, n)
	} else {
		par.Chunks(n, rowChunk, s.embedRows)
	}
	s.layerNorm(&s.embN, s.emb, s.g.norm.of(s.m.W), s.g.normb.of(s.m.W), n)
}

func (s *ClassifierState) embedRows(r0, r1 int) {
	W, H := s.m.W, s.m.Config.Hidden
	word, pos, typ := s.g.word.of(W), s.g.pos.of(W), s.g.typ.of(W)
	for r := r0; r < r1; r++ {
		row := s.emb[r*H : (r+1)*H]
		copy(row, word[int(s.ids[r])*H:])
		if typ != nil {
			tensor.AddInPlace(row, typ[int(s.types[r])*H:])
		}
		tensor.AddInPlace(row, pos[int(s.pos[r])*H:])
	}
}

// layerNorm applies a LayerNorm to n rows of x, saving its statistics.
func (s *ClassifierState) layerNorm(a *normActs, x, w, b []float32, n int) {
	H := s.m.Config.Hidden
	eps := float32(s.m.Config.NormEps)
	if serialRows(n, H) {
		tensor.LayerNorm(a.out[:n*H], a.mean[:n], a.rstd[:n], x[:n*H], w, b, n, H, eps)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) {
		tensor.LayerNorm(a.out[r0*H:r1*H], a.mean[r0:r1], a.rstd[r0:r1], x[r0*H:r1*H], w, b, r1-r0, H, eps)
	})
}

// block runs encoder block l on b sequences of T tokens, from blockIn(l)
// to the block's n2.out.
func (s *ClassifierState) block(l, b, T int) {
	c, W, r, a := &s.m.Config, s.m.W, &s.refs[l], s.actsFor(l)
	x := s.blockIn(l)
	n, H, I := b*T, c.Hidden, r.d.Intermediate
	g := geomOf(r.d, c.HeadDim)
	qd := r.d.Heads * c.HeadDim
	hook := s.Hook

	if hook != nil {
		hook(r.attnIn, x[:n*H], n, H)
	}
	linear(a.qkv, x, r.qkv.of(W), r.qkvb.of(W), n, g.stride, H, false)
	maskedAttention(a.y, a.att, a.qkv, s.mask, g, b, T, &s.work)
	if hook != nil {
		hook(r.oIn, a.y[:n*qd], n, qd)
	}
	copy(a.pre1[:n*H], x[:n*H])
	linear(a.pre1, a.y, r.o.of(W), r.ob.of(W), n, H, qd, true)
	s.layerNorm(&a.n1, a.pre1, r.norm1.of(W), r.norm1b.of(W), n)

	if hook != nil {
		hook(r.mlpIn, a.n1.out[:n*H], n, H)
	}
	linear(a.fc, a.n1.out, r.fc.of(W), r.fcb.of(W), n, I, H, false)
	gelu(a.act, a.fc, n, I)
	if hook != nil {
		hook(r.downIn, a.act[:n*I], n, I)
	}
	copy(a.pre2[:n*H], a.n1.out[:n*H])
	linear(a.pre2, a.act, r.down.of(W), r.dn.of(W), n, H, I, true)
	s.layerNorm(&a.n2, a.pre2, r.norm2.of(W), r.norm2b.of(W), n)
}

// gelu computes the exact GELU of n rows of width w.
func gelu(out, x []float32, n, w int) {
	if serialRows(n, w) {
		tensor.GELU(out[:n*w], x[:n*w])
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { tensor.GELU(out[r0*w:r1*w], x[r0*w:r1*w]) })
}

// head computes the logits from the first token of each sequence.
func (s *ClassifierState) head(b, T int) {
	c, W := &s.m.Config, s.m.W
	H, L := c.Hidden, len(c.Labels)
	x := s.actsFor(len(s.refs) - 1).n2.out
	for bi := 0; bi < b; bi++ {
		copy(s.cls[bi*H:(bi+1)*H], x[bi*T*H:])
	}
	linear(s.pre, s.cls, s.g.pool.of(W), s.g.poolb.of(W), b, H, H, false)
	for i, v := range s.pre[:b*H] {
		if s.g.relu {
			s.pooled[i] = max(v, 0)
		} else {
			s.pooled[i] = float32(math.Tanh(float64(v)))
		}
	}
	linear(s.logits, s.pooled, s.g.out.of(W), s.g.outb.of(W), b, L, H, false)
}

// Classify runs the encoder classifier m on a batch and returns the
// logits [b, num_labels] in a new slice. It makes an inference State of
// the batch's size (use a ClassifierState to run many batches without
// allocating) and stops with ctx's error, looked at before each block.
func (m *Model) Classify(ctx context.Context, in EncoderBatch) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.T <= 0 || len(in.IDs) == 0 || len(in.IDs)%in.T != 0 {
		return nil, fmt.Errorf("classify: %d tokens is not a whole number of sequences of %d", len(in.IDs), in.T)
	}
	s, err := NewClassifierInferenceState(m, len(in.IDs)/in.T, in.T)
	if err != nil {
		return nil, err
	}
	logits, err := s.forward(ctx, in)
	if err != nil {
		return nil, err
	}
	return slices.Clone(logits), nil
}
