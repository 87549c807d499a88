package par

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Every index runs exactly once, for any GOMAXPROCS, including n = 0 and
// more workers than tasks.
func TestForEachIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, n := range []int{0, 1, 2, 7, 1000} {
				hits := make([]atomic.Int32, n)
				For(n, func(i int) { hits[i].Add(1) })
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("GOMAXPROCS %d, n %d: index %d ran %d times", procs, n, i, h)
					}
				}
			}
		}()
	}
}

// ForWorker reports worker ids in [0, w) (0 alone when w ≤ 1), never runs
// one worker's tasks concurrently, and covers every index once.
func TestForWorkerIDs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, w := range []int{0, 1, 3, 50} {
		const n = 200
		hits := make([]atomic.Int32, n)
		busy := make([]atomic.Int32, max(w, 1))
		ForWorker(n, w, func(worker, i int) {
			if worker < 0 || worker >= max(w, 1) {
				t.Errorf("w %d: worker id %d", w, worker)
				return
			}
			if busy[worker].Add(1) != 1 {
				t.Errorf("w %d: worker %d runs two tasks at once", w, worker)
			}
			hits[i].Add(1)
			busy[worker].Add(-1)
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Fatalf("w %d: index %d ran %d times", w, i, h)
			}
		}
	}
}

// Chunks tiles [0, n) with the fixed partition of the given size,
// whatever GOMAXPROCS is.
func TestChunksPartition(t *testing.T) {
	for _, procs := range []int{1, 3} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, tc := range []struct{ n, size int }{{0, 4}, {1, 4}, {4, 4}, {5, 4}, {100, 16}, {33, 32}} {
				owner := make([]atomic.Int32, tc.n)
				Chunks(tc.n, tc.size, func(lo, hi int) {
					if lo%tc.size != 0 || hi != min(tc.n, lo+tc.size) || lo >= hi {
						t.Errorf("n %d size %d: chunk [%d, %d)", tc.n, tc.size, lo, hi)
					}
					for i := lo; i < hi; i++ {
						owner[i].Add(1)
					}
				})
				for i := range owner {
					if o := owner[i].Load(); o != 1 {
						t.Fatalf("n %d size %d: index %d covered %d times", tc.n, tc.size, i, o)
					}
				}
			}
		}()
	}
}

func TestChunksRejectsZeroSize(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Chunks with size 0 did not panic")
		}
	}()
	Chunks(10, 0, func(int, int) {})
}

func TestWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 3, 100: 3} {
		if got := Workers(n); got != want {
			t.Errorf("Workers(%d) = %d with GOMAXPROCS 3, want %d", n, got, want)
		}
	}
}

// startTogether makes the first w tasks wait until w tasks have started, so
// that each of w workers holds one of them.
func startTogether(started *atomic.Int32, i, w int) {
	if i >= w {
		return
	}
	started.Add(1)
	for started.Load() < int32(w) {
		runtime.Gosched()
	}
}

// A task that panics on a worker goroutine does not kill the process: the
// caller gets a *Panic with the value and the panicking goroutine's stack,
// after every worker has stopped, and the loop stops handing out tasks.
// Whether the panic happens on the caller's goroutine (worker 0) or
// another, the caller sees the same.
//
// Tasks that start while the panicking goroutine unwinds cannot be ruled
// out (the stop is recorded when the panic is recovered), so the tasks take
// a millisecond each: a loop that stops starts a handful after the panic, one
// that does not starts nearly all n.
func TestForWorkerPanicReachesTheCaller(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, bad := range []int{0, 2} {
		const n, w = 1000, 4
		var started, running, after atomic.Int32
		var panicked atomic.Bool
		p := catch(func() {
			ForWorker(n, w, func(worker, i int) {
				if panicked.Load() {
					after.Add(1)
				}
				running.Add(1)
				defer running.Add(-1)
				startTogether(&started, i, w)
				if worker == bad && i < w {
					panicked.Store(true)
					panicTask()
				}
				if i >= w {
					time.Sleep(time.Millisecond)
				}
			})
		})
		if running.Load() != 0 {
			t.Errorf("worker %d panicked: ForWorker returned with %d tasks running", bad, running.Load())
		}
		if a := after.Load(); a > n/10 {
			t.Errorf("worker %d panicked: %d of %d tasks started after the panic; the loop did not stop", bad, a, n)
		}
		pe, ok := p.(*Panic)
		if !ok {
			t.Fatalf("worker %d panicked: the caller recovered %T %v, want *Panic", bad, p, p)
		}
		if pe.Value != "boom" || pe.Error() != "panic: boom" {
			t.Errorf("worker %d panicked: Value %v, Error %q", bad, pe.Value, pe.Error())
		}
		if !strings.Contains(string(pe.PanicStack()), "par.panicTask") {
			t.Errorf("worker %d panicked: the stack does not show the task that panicked:\n%s", bad, pe.Stack)
		}
	}
}

// A panic in a nested loop reaches the outer caller with its own stack;
// Chunks and For pass it on too.
func TestNestedPanicKeepsItsStack(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	p := catch(func() {
		Chunks(64, 8, func(lo, _ int) {
			For(8, func(i int) {
				if lo == 32 && i == 5 {
					panicTask()
				}
			})
		})
	})
	pe, ok := p.(*Panic)
	if !ok || pe.Value != "boom" || !strings.Contains(string(pe.Stack), "par.panicTask") {
		t.Fatalf("recovered %T %v", p, p)
	}
}

// With one worker the tasks run on the caller's goroutine and a panic
// passes through unchanged.
func TestSerialPanicPassesThrough(t *testing.T) {
	if p := catch(func() { ForWorker(3, 1, func(_, i int) { panicTask() }) }); p != "boom" {
		t.Errorf("recovered %T %v, want the task's own value", p, p)
	}
}

// Recover turns a goroutine's panic into its error, unwrapping to an error
// value.
func TestRecover(t *testing.T) {
	cause := errors.New("cause")
	err := func() (err error) {
		defer Recover(&err)
		panic(cause)
	}()
	var pe *Panic
	if !errors.As(err, &pe) || !errors.Is(err, cause) || err.Error() != "panic: cause" || len(pe.Stack) == 0 {
		t.Errorf("err %v (%T)", err, err)
	}
	if err := func() (err error) { defer Recover(&err); return nil }(); err != nil {
		t.Errorf("no panic: err %v", err)
	}
}

//go:noinline
func panicTask() { panic("boom") }

// catch returns what fn panics with, or nil.
func catch(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}
