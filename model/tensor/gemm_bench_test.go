package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the products of a GPT-2-small-sized layer over 512 tokens
// (m×n×k) and a 4096-wide layer over 64 tokens.
var benchShapes = [][3]int{{512, 768, 768}, {512, 768, 3072}, {512, 3072, 768}, {64, 4096, 4096}}

// BenchmarkMatMul reports GFLOP/s (2·m·n·k per product) for every
// orientation, shape and kernel.
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, kern := range allKernels() {
		if kern == goKernel && testing.Short() {
			continue
		}
		for _, o := range orientations {
			for _, s := range benchShapes {
				m, n, k := s[0], s[1], s[2]
				b.Run(fmt.Sprintf("%s/%s/%dx%dx%d", kern.name, o.name, m, n, k), func(b *testing.B) {
					x, y, c := randFloats(r, m*k), randFloats(r, n*k), make([]float32, m*n)
					withKernel(kern, func() {
						for b.Loop() {
							o.fn(c, x, y, m, n, k, false)
						}
					})
					b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
