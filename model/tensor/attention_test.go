package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// attention64 is causal attention in float64 (attentionMasked64 without
// a window or a softcap): it returns Y and P.
func attention64(q, k, v []float64, T, hd int, scale float64) (y, p []float64) {
	return attentionMasked64(q, k, v, T, hd, scale, 0, 0)
}

// attentionGrad64 is attentionMaskedGrad64 without a window or a softcap.
func attentionGrad64(q, k, v, dy []float64, T, hd int, scale float64) (dq, dk, dv []float64) {
	return attentionMaskedGrad64(q, k, v, dy, T, hd, scale, 0, 0)
}

// headViews lays q, k, v (T×hd each) out as one head's columns of a fused
// [T, 3·width] activation, to exercise the strides.
func headViews(r *rand.Rand, T, hd, width, h int) (qkv []float32, q, k, v Mat) {
	stride := 3 * width
	qkv = randFloats(r, T*stride)
	return qkv, Mat{qkv[h*hd:], stride}, Mat{qkv[width+h*hd:], stride}, Mat{qkv[2*width+h*hd:], stride}
}

func extract(m Mat, T, hd int) []float64 {
	out := make([]float64, 0, T*hd)
	for i := 0; i < T; i++ {
		for _, x := range m.row(i, hd) {
			out = append(out, float64(x))
		}
	}
	return out
}

func TestCausalAttentionMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 1))
	for _, s := range [][2]int{{1, 4}, {7, 16}, {70, 8}, {150, 16}} {
		T, hd := s[0], s[1]
		const width, h = 48, 1
		_, q, k, v := headViews(r, T, hd, width, h)
		scale := float32(1 / math.Sqrt(float64(hd)))
		ybuf := randFloats(r, T*width)
		y := Mat{ybuf[h*hd:], width}
		ybuf0 := append([]float32(nil), ybuf...)
		p := randFloats(r, T*T)
		CausalAttention(y, q, k, v, p, T, hd, scale)
		q64, k64, v64 := extract(q, T, hd), extract(k, T, hd), extract(v, T, hd)
		wantY, wantP := attention64(q64, k64, v64, T, hd, float64(scale))
		for i, w := range wantP {
			if math.Abs(float64(p[i])-w) > 1e-5*(w+1e-3) {
				t.Fatalf("T=%d hd=%d: P[%d][%d] = %g, want %g", T, hd, i/T, i%T, p[i], w)
			}
		}
		for i, w := range wantY {
			if got := y.row(i/hd, hd)[i%hd]; math.Abs(float64(got)-w) > 1e-5*(1+math.Abs(w)) {
				t.Fatalf("T=%d hd=%d: Y[%d][%d] = %g, want %g", T, hd, i/hd, i%hd, got, w)
			}
		}
		// The other heads' columns of y are untouched.
		for i, x := range ybuf {
			if col := i % width; (col < h*hd || col >= (h+1)*hd) && x != ybuf0[i] {
				t.Fatalf("T=%d hd=%d: y[%d][%d] outside the head was written", T, hd, i/width, col)
			}
		}
	}
}

func TestCausalAttentionBackwardMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 1))
	for _, s := range [][2]int{{1, 4}, {9, 8}, {70, 8}} {
		T, hd := s[0], s[1]
		const width, h = 24, 2
		_, q, k, v := headViews(r, T, hd, width, h)
		scale := float32(1 / math.Sqrt(float64(hd)))
		y := Mat{make([]float32, T*hd), hd}
		p, ds := make([]float32, T*T), make([]float32, T*T)
		CausalAttention(y, q, k, v, p, T, hd, scale)
		dy := Mat{randFloats(r, T*hd), hd}
		// Gradients accumulate onto what is there.
		base := func() Mat { return Mat{randFloats(r, T*width), width} }
		dq, dk, dv := base(), base(), base()
		dq0, dk0, dv0 := extract(dq, T, hd), extract(dk, T, hd), extract(dv, T, hd)
		CausalAttentionBackward(dq, dk, dv, dy, q, k, v, p, ds, T, hd, scale)
		wq, wk, wv := attentionGrad64(extract(q, T, hd), extract(k, T, hd), extract(v, T, hd), extract(dy, T, hd), T, hd, float64(scale))
		for name, c := range map[string]struct {
			got        Mat
			base, want []float64
		}{"dq": {dq, dq0, wq}, "dk": {dk, dk0, wk}, "dv": {dv, dv0, wv}} {
			got := extract(c.got, T, hd)
			for i := range got {
				if d := got[i] - c.base[i]; math.Abs(d-c.want[i]) > 1e-4*(1+math.Abs(c.want[i])) {
					t.Fatalf("T=%d hd=%d: %s[%d][%d] += %g, want %g", T, hd, name, i/hd, i%hd, d, c.want[i])
				}
			}
		}
	}
}
