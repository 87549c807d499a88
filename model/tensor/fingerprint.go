package tensor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"runtime"
	"sync"
)

// Fingerprint (computed once) fingerprints this machine's float arithmetic as lopper's
// kernels do it: the bits of a few products, norms, activations and an
// attention on fixed inputs. The AVX-512 and AVX2 kernels give the same
// bits, the portable Go kernels do not (see the README's "Determinism"), so
// results computed with one are never reused with another; machines whose
// kernels agree share the fingerprint, whatever their vector extensions.
var Fingerprint = sync.OnceValue(fingerprint)

func fingerprint() string {
	h := sha256.New()
	put := func(xs ...[]float32) {
		for _, x := range xs {
			for _, v := range x {
				h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
			}
		}
	}
	seed := uint32(12345)
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			seed = seed*1664525 + 1013904223
			x[i] = float32(int32(seed>>8)-1<<23) / (1 << 23)
		}
		return x
	}
	const m, n, k = 9, 33, 300 // k crosses a GEMM k block; m and n leave edge tiles
	a, b, c := fill(m*k), fill(n*k), make([]float32, m*n)
	MatMulNT(c, a, b, m, n, k, false)
	put(c)
	x, w, g := fill(4*40), fill(40), fill(4*40)
	out, stat, mean := make([]float32, 4*40), make([]float32, 4), make([]float32, 4)
	RMSNorm(out, stat, x, w, 4, 40, 1e-5)
	put(out, stat)
	LayerNorm(out, mean, stat, x, w, w, 4, 40, 1e-5)
	put(out, mean, stat)
	for _, act := range []func(out, x []float32){GELU, GELUTanh} {
		act(out, x)
		put(out)
	}
	SwiGLU(out, x, g)
	put(out)
	s := fill(77)
	SoftmaxInPlace(s)
	put(s, []float32{Dot(x, g)})
	const T, hd = 5, 8
	q, kk, v, y, p := fill(T*hd), fill(T*hd), fill(T*hd), make([]float32, T*hd), make([]float32, T*T)
	CausalAttention(Mat{Data: y, Stride: hd}, Mat{Data: q, Stride: hd}, Mat{Data: kk, Stride: hd},
		Mat{Data: v, Stride: hd}, p, T, hd, 0.35)
	put(y)
	return runtime.GOARCH + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}
