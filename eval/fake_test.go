package eval

import (
	"fmt"
	"math"
)

// prefixLM is a causal model whose logits at a position are a fixed
// function of the sequence's tokens up to that position (a rolling hash),
// so a prediction depends on where its window starts. Its logits for a
// prefix are bit-identical however the prefix is batched or padded.
type prefixLM struct {
	v, maxPos int
}

func (m prefixLM) vocab() int        { return m.v }
func (m prefixLM) maxPositions() int { return m.maxPos }
func (m prefixLM) newRunner(b, t int) (runner, error) {
	return &prefixRunner{m: m, b: b, t: t, out: make([]float32, b*t*m.v)}, nil
}

type prefixRunner struct {
	m    prefixLM
	b, t int
	out  []float32
}

func (r *prefixRunner) forward(tokens []int32, b, t int) ([]float32, error) {
	if b > r.b || t > r.t || len(tokens) != b*t {
		return nil, fmt.Errorf("prefixRunner: shape %d×%d (%d tokens) exceeds %d×%d", b, t, len(tokens), r.b, r.t)
	}
	out := r.out[:b*t*r.m.v]
	for s := range b {
		h := uint32(7)
		for p := range t {
			h = h*31 + uint32(tokens[s*t+p]) + 1
			row := out[(s*t+p)*r.m.v : (s*t+p+1)*r.m.v]
			for v := range row {
				row[v] = float32(3 * math.Cos(0.37*float64(v)*float64(1+h%7)+0.01*float64(h%1009)))
			}
		}
	}
	return out, nil
}

// bigramLM is a causal model whose next-token distribution depends only on
// the current token: logits[p] = log(probs[tokens[p]]).
type bigramLM struct {
	probs  [][]float64 // [vocab][vocab], rows sum to 1
	maxPos int
}

func (m bigramLM) vocab() int        { return len(m.probs) }
func (m bigramLM) maxPositions() int { return m.maxPos }
func (m bigramLM) newRunner(b, t int) (runner, error) {
	return &bigramRunner{m: m, b: b, t: t}, nil
}

type bigramRunner struct {
	m    bigramLM
	b, t int
}

func (r *bigramRunner) forward(tokens []int32, b, t int) ([]float32, error) {
	if b > r.b || t > r.t || len(tokens) != b*t {
		return nil, fmt.Errorf("bigramRunner: shape %d×%d exceeds %d×%d", b, t, r.b, r.t)
	}
	v := r.m.vocab()
	out := make([]float32, b*t*v)
	for i, tok := range tokens {
		for j, p := range r.m.probs[tok] {
			out[i*v+j] = float32(math.Log(p))
		}
	}
	return out, nil
}

// mapEncoder tokenizes text one character at a time through a table.
type mapEncoder struct {
	ids    map[rune]int32
	bos    int32
	hasBOS bool
}

func (e mapEncoder) encode(text string) []int32 {
	out := make([]int32, 0, len(text))
	for _, r := range text {
		id, ok := e.ids[r]
		if !ok {
			panic(fmt.Sprintf("mapEncoder: no id for %q", r))
		}
		out = append(out, id)
	}
	return out
}

func (e mapEncoder) prefix() (int32, bool) { return e.bos, e.hasBOS }
