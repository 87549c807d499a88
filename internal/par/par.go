// Package par runs index-parallel loops for lopper's compute packages
// (model/tensor, model, pruning, train). Every task is identified by its
// index and must write only outputs that belong to it; partitions into
// chunks are fixed by the caller, never derived from GOMAXPROCS, so any
// result assembled from per-task pieces is bit-identical for every number of
// workers and every schedule.
//
// A task that panics on a worker goroutine does not kill the process: the
// loop stops handing out tasks, waits for the running ones, and panics on
// the calling goroutine with a *Panic that carries the task's panic value
// and stack, where the caller's recover (a pipeline stage's, say) sees it.
package par

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Workers is the number of goroutines For uses for n tasks: GOMAXPROCS,
// capped at n, and at least 1.
func Workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// For calls fn(i) for every i in [0, n) on Workers(n) goroutines (the
// caller's included) and returns when all calls have returned. Each index
// runs exactly once, unless a task panics (see Panic).
func For(n int, fn func(i int)) {
	ForWorker(n, Workers(n), func(_, i int) { fn(i) })
}

// ForWorker is For on w goroutines (the caller's included) that tells fn
// which worker (0 ≤ worker < max(w, 1)) runs task i, so that tasks can share
// per-worker scratch space. A worker runs its tasks one at a time; which
// tasks it gets depends on scheduling, so scratch must be overwritten before
// it is read and anything merged across workers must not depend on the
// assignment (integer counts, say). With one worker (w ≤ 1 or n ≤ 1) the
// tasks run in index order on the calling goroutine, and a panic passes
// through unchanged; otherwise a task's panic is re-raised on the calling
// goroutine as a *Panic once every worker has stopped.
func ForWorker(n, w int, fn func(worker, i int)) {
	if w <= 1 || n <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	w = min(w, n)
	var loop struct { // one allocation for what the workers share
		next  atomic.Int64
		first atomic.Pointer[Panic]
		wg    sync.WaitGroup
	}
	run := func(worker int) {
		defer func() {
			if v := recover(); v != nil {
				// Stop the other workers claiming tasks first: capturing the
				// stack takes a while.
				loop.next.Store(int64(n))
				loop.first.CompareAndSwap(nil, newPanic(v))
			}
		}()
		for {
			i := int(loop.next.Add(1)) - 1
			if i >= n {
				return
			}
			fn(worker, i)
		}
	}
	loop.wg.Add(w - 1)
	for g := 1; g < w; g++ {
		go func() {
			defer loop.wg.Done()
			run(g)
		}()
	}
	run(0)
	loop.wg.Wait()
	if p := loop.first.Load(); p != nil {
		panic(p)
	}
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

// Panic is what For, ForWorker and Chunks panic with on the calling
// goroutine when a task panicked on a worker, and the error Recover
// returns: Value is the panic value and Stack the stack of the goroutine
// that panicked, at the panic. A Panic from a nested loop passes through as
// it is. As an error it reads "panic: VALUE"; Unwrap returns Value when it
// is an error, and PanicStack the stack, for a log.
type Panic struct {
	Value any
	Stack []byte
}

func newPanic(v any) *Panic {
	if p, ok := v.(*Panic); ok {
		return p
	}
	return &Panic{Value: v, Stack: debug.Stack()}
}

// Recover, deferred by the function of a goroutine that reports errors
// (errgroup's Go does not recover), turns a panic in it into the error
// *err, a *Panic with the panicking goroutine's stack:
//
//	g.Go(func() (err error) {
//		defer par.Recover(&err)
//		…
//	})
func Recover(err *error) {
	if v := recover(); v != nil {
		*err = newPanic(v)
	}
}

// Error says "panic: " and the panic value.
func (p *Panic) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Unwrap returns the task's panic value when it is an error.
func (p *Panic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// PanicStack returns the stack of the task that panicked, for a recover
// that logs where the panic happened rather than where it was re-raised.
func (p *Panic) PanicStack() []byte { return p.Stack }
