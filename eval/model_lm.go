package eval

import (
	"fmt"
	"math/bits"

	"lopper/model"
	"lopper/model/tokenizer"
)

// modelLM adapts *model.Model to lm.
type modelLM struct{ m *model.Model }

func (a modelLM) vocab() int { return a.m.Config.Vocab }

// maxPositions is the model's position limit, or its sliding attention
// window when that is shorter (the runtime refuses longer sequences).
func (a modelLM) maxPositions() int {
	c := &a.m.Config
	if c.SlidingWindow > 0 && c.SlidingWindow < c.MaxPos {
		return c.SlidingWindow
	}
	return c.MaxPos
}

func (a modelLM) newRunner(b, t int) (runner, error) {
	if b <= 0 || t <= 0 || t > a.maxPositions() {
		return nil, fmt.Errorf("batch %d × sequence %d: need positive sizes and at most %d positions", b, t, a.maxPositions())
	}
	return &modelRunner{m: a.m, b: b, t: t, states: map[int]*model.State{}}, nil
}

// modelRunner runs forward passes with inference states. A model State has
// a fixed sequence length, so shorter sequences are right-padded to a
// bucket length — the next power of two, at most the runner's t — and run
// by that bucket's state (made on first use; at most log₂ t of them, less
// than twice the memory of the largest). Padding after a sequence does not
// change its logits (attention is causal); the bucket depends only on the
// sequence length, so results do not depend on scheduling.
type modelRunner struct {
	m      *model.Model
	b, t   int
	states map[int]*model.State
	in     []int32   // padded tokens
	out    []float32 // compacted logits
}

func (r *modelRunner) forward(tokens []int32, b, t int) ([]float32, error) {
	if b <= 0 || b > r.b || t <= 0 || t > r.t || len(tokens) != b*t {
		return nil, fmt.Errorf("forward: %d tokens as %d × %d exceed the runner's %d × %d", len(tokens), b, t, r.b, r.t)
	}
	T := bucket(t, r.t)
	st, ok := r.states[T]
	if !ok {
		var err error
		if st, err = model.NewInferenceState(r.m, r.b, T); err != nil {
			return nil, err
		}
		r.states[T] = st
	}
	if T == t {
		return st.Forward(tokens)
	}
	r.in = grow(r.in, b*T)
	clear(r.in) // pad with token 0
	for s := range b {
		copy(r.in[s*T:], tokens[s*t:(s+1)*t])
	}
	logits, err := st.Forward(r.in)
	if err != nil {
		return nil, err
	}
	v := r.m.Config.Vocab
	r.out = grow(r.out, b*t*v)
	for s := range b {
		copy(r.out[s*t*v:(s+1)*t*v], logits[s*T*v:])
	}
	return r.out, nil
}

// grow returns s resized to n elements, reallocated only when too small.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// bucket is the padded length for a sequence of t tokens: the next power of
// two, at least 16 and at most limit.
func bucket(t, limit int) int {
	p := 16
	if t > 16 {
		p = 1 << bits.Len(uint(t-1))
	}
	return min(p, limit)
}

// tokenizerEncoder adapts a tokenizer to encoder: no special tokens are
// added, and an empty context starts from BOS, else EOS (the harness's
// prefix_token_id).
type tokenizerEncoder struct{ tok *tokenizer.Tokenizer }

func (e tokenizerEncoder) encode(text string) []int32 { return e.tok.Encode(text) }

func (e tokenizerEncoder) prefix() (int32, bool) {
	if id, ok := e.tok.BOS(); ok {
		return id, true
	}
	return e.tok.EOS()
}
