package par

import (
	"runtime"
	"sync/atomic"
	"testing"
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
