package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// visible64 reports whether query i sees key j: causal, and within the
// last window keys when window > 0.
func visible64(i, j, window int) bool {
	return j <= i && (window <= 0 || j > i-window)
}

// attentionMasked64 is attention in float64, written from the definition
// with explicit loops: scores s = scale·q·k, capped to c·tanh(s/c) when
// c > 0, softmax over the visible keys. It returns Y and P.
func attentionMasked64(q, k, v []float64, T, hd int, scale float64, window int, c float64) (y, p []float64) {
	y, p = make([]float64, T*hd), make([]float64, T*T)
	for i := 0; i < T; i++ {
		mx := math.Inf(-1)
		for j := 0; j <= i; j++ {
			if !visible64(i, j, window) {
				continue
			}
			var s float64
			for d := 0; d < hd; d++ {
				s += q[i*hd+d] * k[j*hd+d]
			}
			s *= scale
			if c > 0 {
				s = c * math.Tanh(s/c)
			}
			p[i*T+j] = s
			mx = math.Max(mx, s)
		}
		var sum float64
		for j := 0; j <= i; j++ {
			if visible64(i, j, window) {
				p[i*T+j] = math.Exp(p[i*T+j] - mx)
				sum += p[i*T+j]
			}
		}
		for j := 0; j <= i; j++ {
			p[i*T+j] /= sum
			for d := 0; d < hd; d++ {
				y[i*hd+d] += p[i*T+j] * v[j*hd+d]
			}
		}
	}
	return y, p
}

// attentionMaskedGrad64 returns dQ, dK, dV of Σ dy·Y by the chain rule
// through the softmax Jacobian ∂p_j/∂s_l = p_j(δ_jl − p_l) and the cap's
// derivative 1 − tanh²(s/c), in float64.
func attentionMaskedGrad64(q, k, v, dy []float64, T, hd int, scale float64, window int, c float64) (dq, dk, dv []float64) {
	_, p := attentionMasked64(q, k, v, T, hd, scale, window, c)
	dq, dk, dv = make([]float64, T*hd), make([]float64, T*hd), make([]float64, T*hd)
	for i := 0; i < T; i++ {
		dp := make([]float64, i+1)
		for j := 0; j <= i; j++ {
			for d := 0; d < hd; d++ {
				dp[j] += dy[i*hd+d] * v[j*hd+d]
				dv[j*hd+d] += p[i*T+j] * dy[i*hd+d]
			}
		}
		for l := 0; l <= i; l++ {
			if !visible64(i, l, window) {
				continue
			}
			var ds float64 // ∂L/∂(capped score l)
			for j := 0; j <= i; j++ {
				jac := -p[i*T+j] * p[i*T+l]
				if j == l {
					jac += p[i*T+j]
				}
				ds += dp[j] * jac
			}
			if c > 0 {
				var s float64
				for d := 0; d < hd; d++ {
					s += q[i*hd+d] * k[l*hd+d]
				}
				t := math.Tanh(s * scale / c)
				ds *= 1 - t*t
			}
			for d := 0; d < hd; d++ {
				dq[i*hd+d] += ds * scale * k[l*hd+d]
				dk[l*hd+d] += ds * scale * q[i*hd+d]
			}
		}
	}
	return dq, dk, dv
}

// Sliding windows (shorter and longer than a block of queries, and longer
// than T) and softcapping, forward and backward, agree with float64.
func TestMaskedAttentionMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 1))
	cases := []struct {
		T, hd, window int
		softcap       float32
	}{
		{9, 8, 3, 0}, {9, 8, 1, 0}, {9, 8, 20, 0}, {150, 8, 5, 0}, {150, 8, 70, 0},
		{9, 8, 0, 0.5}, {150, 4, 0, 2}, {150, 8, 67, 1.5}, {70, 4, 3, 0.7},
	}
	for _, tc := range cases {
		T, hd := tc.T, tc.hd
		o := AttnOptions{Window: tc.window, Softcap: tc.softcap}
		const width, h = 24, 1
		_, q, k, v := headViews(r, T, hd, width, h)
		// Large enough scores that the cap bends them.
		scale := float32(2 / math.Sqrt(float64(hd)))
		y := Mat{randFloats(r, T*hd), hd}
		p := randFloats(r, T*T)
		MaskedAttention(y, q, k, v, p, T, hd, scale, o)
		q64, k64, v64 := extract(q, T, hd), extract(k, T, hd), extract(v, T, hd)
		wantY, wantP := attentionMasked64(q64, k64, v64, T, hd, float64(scale), tc.window, float64(tc.softcap))
		for i, w := range wantP {
			if math.Abs(float64(p[i])-w) > 1e-5*(w+1e-3) {
				t.Fatalf("%+v: P[%d][%d] = %g, want %g", tc, i/T, i%T, p[i], w)
			}
		}
		for i, w := range wantY {
			if got := y.row(i/hd, hd)[i%hd]; math.Abs(float64(got)-w) > 1e-5*(1+math.Abs(w)) {
				t.Fatalf("%+v: Y[%d][%d] = %g, want %g", tc, i/hd, i%hd, got, w)
			}
		}
		dy := Mat{randFloats(r, T*hd), hd}
		base := func() Mat { return Mat{randFloats(r, T*width), width} }
		dq, dk, dv := base(), base(), base()
		dq0, dk0, dv0 := extract(dq, T, hd), extract(dk, T, hd), extract(dv, T, hd)
		ds, sc := randFloats(r, T*T), randFloats(r, min(T, AttentionBlock)*T)
		MaskedAttentionBackward(dq, dk, dv, dy, q, k, v, p, ds, sc, T, hd, scale, o)
		wq, wk, wv := attentionMaskedGrad64(q64, k64, v64, extract(dy, T, hd), T, hd, float64(scale), tc.window, float64(tc.softcap))
		for name, c := range map[string]struct {
			got        Mat
			base, want []float64
		}{"dq": {dq, dq0, wq}, "dk": {dk, dk0, wk}, "dv": {dv, dv0, wv}} {
			got := extract(c.got, T, hd)
			for i := range got {
				if d := got[i] - c.base[i]; math.Abs(d-c.want[i]) > 1e-4*(1+math.Abs(c.want[i])) {
					t.Fatalf("%+v: %s[%d][%d] += %g, want %g", tc, name, i/hd, i%hd, d, c.want[i])
				}
			}
		}
	}
}
