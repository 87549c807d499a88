package model

import (
	"fmt"
	"runtime"
	"testing"

	"lopper/internal/cputime"
)

// BenchmarkBlockOneCore runs the block benchmarks on one core (GOMAXPROCS
// 1, the benchmark's goroutine locked to its thread) and reports GFLOP/s
// and tokens/s in that thread's CPU time, which other load on the machine
// barely disturbs, unlike the wall clock. Compare with
// `bench_block.py --one-core`.
func BenchmarkBlockOneCore(b *testing.B) {
	for _, blk := range []struct {
		name string
		cfg  Config
	}{{"gpt2", gpt2SmallBlock}, {"llama", llamaSmallBlock}} {
		for _, shape := range blockShapes {
			bb := newBlockBench(b, blk.cfg, shape[0], shape[1])
			for _, pass := range []struct {
				name  string
				fn    func()
				flops float64
			}{{"forward", bb.forward, bb.flops}, {"forward+backward", bb.forwardBackward, 3 * bb.flops}} {
				b.Run(fmt.Sprintf("%s/%s/B%dxT%d", blk.name, pass.name, bb.b, bb.T), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					pass.fn()
					t0 := cputime.Of(b)
					for b.Loop() {
						pass.fn()
					}
					bb.report(b, pass.flops, cputime.Of(b)-t0)
				})
			}
		}
	}
}
