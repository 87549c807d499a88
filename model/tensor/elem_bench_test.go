package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkElem times the elementwise kernels on a GPT-2-small MLP
// activation (512 tokens × 3072) for every kernel set; ns/elem is per
// element.
func BenchmarkElem(b *testing.B) {
	const n = 512 * 3072
	r := rand.New(rand.NewPCG(1, 2))
	x, y, z := randFloats(r, n), randFloats(r, n), randFloats(r, n)
	out, out2 := make([]float32, n), make([]float32, n)
	cases := []struct {
		name string
		run  func(e *elemKernels)
	}{
		{"GELU", func(e *elemKernels) { e.gelu(out, x) }},
		{"GELUBackward", func(e *elemKernels) { e.geluBackward(out, y, x) }},
		{"GELUTanh", func(e *elemKernels) { e.geluTanh(out, x) }},
		{"GELUTanhBackward", func(e *elemKernels) { e.geluTanhBackward(out, y, x) }},
		{"SwiGLU", func(e *elemKernels) { e.swiglu(out, x, y) }},
		{"SwiGLUBackward", func(e *elemKernels) { e.swigluBackward(out, out2, z, x, y) }},
		{"Softmax512", func(e *elemKernels) {
			for i := 0; i+512 <= n; i += 512 {
				row := out[i : i+512]
				copy(row, x[i:i+512])
				e.scale(row, 1/e.expShift(row, e.maxOf(row)))
			}
		}},
		{"LayerNorm768", func(e *elemKernels) {
			withElem(e, func() { LayerNorm(out, z[:n/768], y[:n/768], x, y[:768], z[:768], n/768, 768, 1e-5) })
		}},
		{"LayerNormBackward768", func(e *elemKernels) {
			withElem(e, func() {
				LayerNormBackward(out, out2[:768], out2[768:1536], z, x, y[:768], y[768:768+n/768], z[:n/768], n/768, 768)
			})
		}},
		{"RMSNorm768", func(e *elemKernels) {
			withElem(e, func() { RMSNorm(out, z[:n/768], x, y[:768], n/768, 768, 1e-5) })
		}},
		{"RMSNormBackward768", func(e *elemKernels) {
			withElem(e, func() { RMSNormBackward(out, out2[:768], z, x, y[:768], y[768:768+n/768], n/768, 768) })
		}},
		{"Dot64", func(e *elemKernels) {
			for i := 0; i+64 <= n; i += 64 {
				out[i] = e.dot(x[i:i+64], y[i:i+64])
			}
		}},
		{"Axpy64", func(e *elemKernels) {
			for i := 0; i+64 <= n; i += 64 {
				e.axpy(out[i:i+64], 0.5, x[i:i+64])
			}
		}},
	}
	for _, c := range cases {
		for _, e := range allElems() {
			b.Run(c.name+"/"+e.name, func(b *testing.B) {
				for b.Loop() {
					c.run(e)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		}
	}
}
