package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workerOverride, when positive, fixes the number of worker goroutines the
// kernels use instead of GOMAXPROCS. Tests set it (setWorkers) to check that
// results do not depend on it.
var workerOverride atomic.Int32

// setWorkers fixes the worker count (n > 0) or restores the default (n <= 0)
// and returns the previous setting.
func setWorkers(n int) int {
	if n < 0 {
		n = 0
	}
	return int(workerOverride.Swap(int32(n)))
}

// numWorkers returns how many goroutines a parallel kernel may use.
func numWorkers() int {
	if w := workerOverride.Load(); w > 0 {
		return int(w)
	}
	return runtime.GOMAXPROCS(0)
}

// parallelFor calls fn(w, i) once for every i in [0, n) on up to workers
// goroutines (the caller's included) and returns when all calls have
// returned. w < workers identifies the goroutine, for per-worker scratch:
// one goroutine runs its items one at a time. Items are claimed
// dynamically, so fn's effect must not depend on which goroutine runs it;
// kernels use it for disjoint pieces of their output.
func parallelFor(workers, n int, fn func(w, i int)) {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	run := func(w int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(w, i)
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
}
