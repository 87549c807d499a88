package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers is the number of goroutines parallel uses for n tasks.
func workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// parallel calls fn(i) for every i in [0, n) on up to GOMAXPROCS
// goroutines. Each index runs on exactly one goroutine and fn(i) must write
// only outputs that belong to i, so results do not depend on the number of
// workers or on scheduling.
func parallel(n int, fn func(i int)) {
	parallelW(n, workers(n), func(_, i int) { fn(i) })
}

// parallelW is parallel on w goroutines, telling fn which worker (0 ≤
// worker < w) runs task i, so that tasks can use per-worker scratch that
// they overwrite before reading.
func parallelW(n, w int, fn func(worker, i int)) {
	if w <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w)
	for g := range w {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(g, i)
			}
		}()
	}
	wg.Wait()
}

// rowChunk is the fixed number of rows per task in parallelRows: fixed so
// that any per-chunk partial result is the same for every GOMAXPROCS.
const rowChunk = 32

// parallelRows calls fn(r0, r1) over [0, rows) in chunks of rowChunk rows.
func parallelRows(rows int, fn func(r0, r1 int)) {
	parallel((rows+rowChunk-1)/rowChunk, func(c int) {
		fn(c*rowChunk, min(rows, (c+1)*rowChunk))
	})
}
