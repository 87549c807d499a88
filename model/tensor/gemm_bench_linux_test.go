package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"lopper/internal/cputime"
)

// BenchmarkMatMulOneCore reports one core's GFLOP/s measured in thread CPU
// time (one worker, the benchmark's own locked thread), which other load on
// the machine barely disturbs, unlike wall-clock time.
func BenchmarkMatMulOneCore(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, o := range orientations {
		for _, s := range benchShapes {
			m, n, k := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%s/%dx%dx%d", activeKernel.name, o.name, m, n, k), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				defer setWorkers(setWorkers(1))
				x, y, c := randFloats(r, m*k), randFloats(r, n*k), make([]float32, m*n)
				o.fn(c, x, y, m, n, k, false)
				t0 := cputime.Of(b)
				for b.Loop() {
					o.fn(c, x, y, m, n, k, false)
				}
				cpu := cputime.Of(b) - t0
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/cpu/1e9, "GFLOP/s")
			})
		}
	}
}
