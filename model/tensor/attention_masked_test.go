package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// maskedAttention64 is bidirectional attention over the keys the mask
// keeps, in float64 from the definition: it returns Y, P and, given dy,
// dQ, dK, dV through the softmax Jacobian.
func maskedAttention64(q, k, v, dy []float64, mask []int32, T, hd int, scale float64) (y, p, dq, dk, dv []float64) {
	y, p = make([]float64, T*hd), make([]float64, T*T)
	dq, dk, dv = make([]float64, T*hd), make([]float64, T*hd), make([]float64, T*hd)
	for i := 0; i < T; i++ {
		mx := math.Inf(-1)
		for j := 0; j < T; j++ {
			if mask[j] == 0 {
				continue
			}
			var s float64
			for d := 0; d < hd; d++ {
				s += q[i*hd+d] * k[j*hd+d]
			}
			p[i*T+j] = s * scale
			mx = math.Max(mx, p[i*T+j])
		}
		var sum float64
		for j := 0; j < T; j++ {
			if mask[j] != 0 {
				p[i*T+j] = math.Exp(p[i*T+j] - mx)
				sum += p[i*T+j]
			}
		}
		dp := make([]float64, T)
		for j := 0; j < T; j++ {
			p[i*T+j] /= sum
			for d := 0; d < hd; d++ {
				y[i*hd+d] += p[i*T+j] * v[j*hd+d]
				dp[j] += dy[i*hd+d] * v[j*hd+d]
				dv[j*hd+d] += p[i*T+j] * dy[i*hd+d]
			}
		}
		for l := 0; l < T; l++ {
			var ds float64
			for j := 0; j < T; j++ {
				jac := -p[i*T+j] * p[i*T+l]
				if j == l {
					jac += p[i*T+j]
				}
				ds += dp[j] * jac
			}
			for d := 0; d < hd; d++ {
				dq[i*hd+d] += ds * scale * k[l*hd+d]
				dk[l*hd+d] += ds * scale * q[i*hd+d]
			}
		}
	}
	return y, p, dq, dk, dv
}

// MaskedAttention and its backward match float64 on strided head views,
// masked keys get probability exactly 0 and no gradient, and gradients
// add onto what is there.
func TestMaskedAttentionMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 1))
	for _, s := range [][2]int{{1, 4}, {7, 16}, {70, 8}} {
		T, hd := s[0], s[1]
		const width, h = 40, 1
		_, q, k, v := headViews(r, T, hd, width, h)
		mask := make([]int32, T)
		for j := range mask {
			if j == 0 || r.IntN(3) > 0 {
				mask[j] = 1
			}
		}
		scale := float32(1 / math.Sqrt(float64(hd)))
		y := Mat{make([]float32, T*hd), hd}
		p, ds := randFloats(r, T*T), make([]float32, T*T)
		MaskedAttention(y, q, k, v, p, mask, T, hd, scale)
		dy := Mat{randFloats(r, T*hd), hd}
		base := func() Mat { return Mat{randFloats(r, T*width), width} }
		dq, dk, dv := base(), base(), base()
		dq0, dk0, dv0 := extract(dq, T, hd), extract(dk, T, hd), extract(dv, T, hd)
		MaskedAttentionBackward(dq, dk, dv, dy, q, k, v, p, ds, T, hd, scale)
		wy, wp, wq, wk, wv := maskedAttention64(extract(q, T, hd), extract(k, T, hd), extract(v, T, hd), extract(dy, T, hd), mask, T, hd, float64(scale))
		for i, w := range wp {
			if mask[i%T] == 0 && p[i] != 0 || math.Abs(float64(p[i])-w) > 1e-5*(w+1e-3) {
				t.Fatalf("T=%d hd=%d: P[%d][%d] = %g, want %g (mask %d)", T, hd, i/T, i%T, p[i], w, mask[i%T])
			}
		}
		for name, c := range map[string]struct {
			got        Mat
			base, want []float64
		}{"y": {y, make([]float64, T*hd), wy}, "dq": {dq, dq0, wq}, "dk": {dk, dk0, wk}, "dv": {dv, dv0, wv}} {
			got := extract(c.got, T, hd)
			for i := range got {
				d := got[i] - c.base[i]
				if math.Abs(d-c.want[i]) > 1e-4*(1+math.Abs(c.want[i])) || (name == "dk" || name == "dv") && mask[i/hd] == 0 && d != 0 {
					t.Fatalf("T=%d hd=%d: %s[%d][%d] += %g, want %g", T, hd, name, i/hd, i%hd, d, c.want[i])
				}
			}
		}
	}
}

// Masked attention forward and backward give the same bits on both
// instruction sets.
func TestMaskedAttentionSameBitsOnAVX512AndAVX2(t *testing.T) {
	ea, eb := isaPair(t)
	ks := archKernels()
	r := rand.New(rand.NewPCG(4, 14))
	const T, hd = 77, 16
	q, k, v, dy := randFloats(r, T*hd), randFloats(r, T*hd), randFloats(r, T*hd), randFloats(r, T*hd)
	mask := make([]int32, T)
	for j := range 60 {
		mask[j] = 1
	}
	var outs [2][]float32
	for i, e := range []*elemKernels{ea, eb} {
		y, p, ds := make([]float32, T*hd), make([]float32, T*T), make([]float32, T*T)
		dq, dk, dv := make([]float32, T*hd), make([]float32, T*hd), make([]float32, T*hd)
		withKernel(ks[i], func() {
			withElem(e, func() {
				MaskedAttention(Mat{y, hd}, Mat{q, hd}, Mat{k, hd}, Mat{v, hd}, p, mask, T, hd, 0.3)
				MaskedAttentionBackward(Mat{dq, hd}, Mat{dk, hd}, Mat{dv, hd}, Mat{dy, hd},
					Mat{q, hd}, Mat{k, hd}, Mat{v, hd}, p, ds, T, hd, 0.3)
			})
		})
		outs[i] = append(append(append(append(y, p...), dq...), dk...), dv...)
	}
	if i := sameBits(outs[0], outs[1]); i >= 0 {
		t.Fatalf("output %d is %g on %s, %g on %s", i, outs[0][i], ea.name, outs[1][i], eb.name)
	}
}
