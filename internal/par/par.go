// Package par runs index-parallel loops for lopper's compute packages
// (model, pruning, train). Every task is identified by its index and must
// write only outputs that belong to it; partitions into chunks are fixed by
// the caller, never derived from GOMAXPROCS, so any result assembled from
// per-task pieces is bit-identical for every number of workers and every
// schedule. (model/tensor keeps its own splitter, tuned to its kernels.)
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is the number of goroutines For uses for n tasks: GOMAXPROCS,
// capped at n, and at least 1.
func Workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// For calls fn(i) for every i in [0, n) on Workers(n) goroutines and
// returns when all calls have returned. Each index runs exactly once.
func For(n int, fn func(i int)) {
	ForWorker(n, Workers(n), func(_, i int) { fn(i) })
}

// ForWorker is For on w goroutines that tells fn which worker
// (0 ≤ worker < max(w, 1)) runs task i, so that tasks can share per-worker
// scratch space. A worker runs its tasks one at a time; which tasks it gets
// depends on scheduling, so scratch must be overwritten before it is read
// and anything merged across workers must not depend on the assignment
// (integer counts, say).
func ForWorker(n, w int, fn func(worker, i int)) {
	if w <= 1 || n <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	w = min(w, n)
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

// Chunks calls fn(lo, hi) for the chunks [0, size), [size, 2·size), … of
// [0, n), the last one possibly shorter, in parallel (For over the chunk
// index). The partition depends only on n and size. size must be positive.
func Chunks(n, size int, fn func(lo, hi int)) {
	if size <= 0 {
		panic("par.Chunks: chunk size must be positive")
	}
	For((n+size-1)/size, func(c int) {
		fn(c*size, min(n, (c+1)*size))
	})
}
