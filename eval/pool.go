package eval

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

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
// newRunner. Jobs are claimed in index order; a
// job's result must depend only on i (each job writes its own slot), which
// keeps results independent of scheduling. The first error cancels the rest;
// a panic in a job, a runner or progress is an error (a *par.Panic).
// units(i) is how many progress units job i completes.
func forEachJob[R any](ctx context.Context, jobs, workers int, newRunner func() (R, error),
	job func(r R, i int) error, units func(i int) int, total int, progress ProgressFunc) error {
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	var mu sync.Mutex
	done := 0
	for range workers {
		g.Go(func() (err error) {
			defer par.Recover(&err) // a panic fails the evaluation, not the process
			r, err := newRunner()
			if err != nil {
				return err
			}
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				i := int(next.Add(1) - 1)
				if i >= jobs {
					return nil
				}
				if err := job(r, i); err != nil {
					return err
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
	return g.Wait()
}
