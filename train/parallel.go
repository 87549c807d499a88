package train

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// rowChunk is the fixed number of rows per parallel task, fixed so that
// results do not depend on GOMAXPROCS.
const rowChunk = 16

// parallelRows calls fn(r0, r1) over [0, rows) in chunks of rowChunk rows
// on up to GOMAXPROCS goroutines. fn must write only the outputs of its
// rows.
func parallelRows(rows int, fn func(r0, r1 int)) {
	chunks := (rows + rowChunk - 1) / rowChunk
	w := min(runtime.GOMAXPROCS(0), chunks)
	if w <= 1 {
		for r := 0; r < rows; r += rowChunk {
			fn(r, min(rows, r+rowChunk))
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
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				fn(c*rowChunk, min(rows, (c+1)*rowChunk))
			}
		}()
	}
	wg.Wait()
}
