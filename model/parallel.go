package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel calls fn(i) for every i in [0, n) on up to GOMAXPROCS
// goroutines. Each index runs on exactly one goroutine and fn(i) must write
// only outputs that belong to i, so results do not depend on the number of
// workers or on scheduling.
func parallel(n int, fn func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := 0; i < n; i++ {
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

// rowChunk is the fixed number of rows per task in parallelRows: fixed so
// that any per-chunk partial result is the same for every GOMAXPROCS.
const rowChunk = 32

// parallelRows calls fn(r0, r1) over [0, rows) in chunks of rowChunk rows.
func parallelRows(rows int, fn func(r0, r1 int)) {
	parallel((rows+rowChunk-1)/rowChunk, func(c int) {
		fn(c*rowChunk, min(rows, (c+1)*rowChunk))
	})
}
