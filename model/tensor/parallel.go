package tensor

import (
	"runtime"
	"sync/atomic"
)

// The kernels split their work with internal/par's ForWorker over
// numWorkers goroutines: the caller's goroutine is worker 0, items are
// claimed dynamically, so an item's effect must not depend on which worker
// runs it (kernels use it for disjoint pieces of their output and
// per-worker scratch), and a panic in a worker reaches the caller.

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
