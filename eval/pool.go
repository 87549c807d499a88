package eval

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"lopper/internal/par"
)

// ProgressFunc receives the number of finished units (windows or tasks) of
// an evaluation and their total. Calls are serialised, done only grows, and
// the last call of a completed evaluation has done == total.
type ProgressFunc func(done, total int)

// workerCount is the number of concurrent forward passes for jobs units of
// work: requested if positive, else GOMAXPROCS, and never more than jobs.
func workerCount(requested, jobs int) int {
	w := requested
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, jobs))
}

// forEachJob runs job(r, i) for i in [0, jobs) on workers goroutines, each
// with its own runner R (a language model's or a classifier's) made by
// newRunner. Jobs are claimed in index order; a job's result must depend
// only on i (each job writes its own slot), which keeps results independent
// of scheduling. When jobs fail, the error returned is the one of the
// lowest failing index, whatever the scheduling: after job i fails no job
// above i starts, but every job below i (already claimed) finishes, so the
// same input always reports the same window or example. A panic in a job, a
// runner or progress is an error (a *par.Panic). units(i) is how many
// progress units job i completes.
func forEachJob[R any](ctx context.Context, jobs, workers int, newRunner func() (R, error),
	job func(r R, i int) error, units func(i int) int, total int, progress ProgressFunc) error {
	var next atomic.Int64
	var mu sync.Mutex // guards done, progress, failedAt and failure
	done := 0
	failedAt, failure := jobs, error(nil) // the lowest failing job so far
	fail := func(i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if i < failedAt || failure == nil {
			failedAt, failure = i, err
		}
	}
	stopBelow := func() int {
		mu.Lock()
		defer mu.Unlock()
		return failedAt
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			i := -1 // the job this worker is in, for a panic
			var err error
			defer func() {
				if err != nil {
					fail(max(i, 0), err)
				}
			}()
			defer par.Recover(&err) // a panic fails the evaluation, not the process
			r, err := newRunner()
			if err != nil {
				return
			}
			for {
				if err = ctx.Err(); err != nil {
					i = 0 // cancellation outranks any job's error
					return
				}
				i = int(next.Add(1) - 1)
				if i >= jobs || i > stopBelow() {
					return
				}
				if err = job(r, i); err != nil {
					return
				}
				if progress != nil {
					func() {
						mu.Lock()
						defer mu.Unlock() // also when progress panics
						done += units(i)
						progress(done, total)
					}()
				}
			}
		})
	}
	wg.Wait()
	return failure
}
