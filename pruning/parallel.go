package pruning

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor calls fn(i) for every i in [0, n) on up to GOMAXPROCS
// goroutines. Each index runs on exactly one goroutine and must write only
// its own outputs, so results never depend on the number of workers.
func parallelFor(n int, fn func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w)
	for range w {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// parallelChunks calls fn(lo, hi) over [0, n) in fixed chunks of size
// chunk (the last may be shorter), in parallel.
func parallelChunks(n, chunk int, fn func(lo, hi int)) {
	parallelFor((n+chunk-1)/chunk, func(c int) {
		fn(c*chunk, min(n, (c+1)*chunk))
	})
}
