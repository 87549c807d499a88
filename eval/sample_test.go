package eval

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectTasksFirst(t *testing.T) {
	if got := selectTasks(10, 3, false, 0); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("first 3 of 10: %v", got)
	}
	if got := selectTasks(4, 0, true, 1); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("no limit: %v", got)
	}
	if got := selectTasks(4, 9, true, 1); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("limit above n: %v", got)
	}
}

func TestSelectTasksSample(t *testing.T) {
	a := selectTasks(200, 20, true, 42)
	b := selectTasks(200, 20, true, 42)
	c := selectTasks(200, 20, true, 43)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed selected different tasks")
	}
	if slices.Equal(a, c) {
		t.Fatal("seeds 42 and 43 selected the same tasks")
	}
	if len(a) != 20 || !slices.IsSorted(a) || len(slices.Compact(slices.Clone(a))) != 20 {
		t.Fatalf("sample %v: want 20 distinct sorted indices", a)
	}
	// Uniformity: over 4000 seeds each of 10 indices is drawn 3 of 10 times
	// on average (1200 ± ~29 s.d.); allow 6 s.d.
	counts := make([]int, 10)
	for seed := range uint64(4000) {
		for _, i := range selectTasks(10, 3, true, seed) {
			counts[i]++
		}
	}
	for i, n := range counts {
		if n < 1200-174 || n > 1200+174 {
			t.Errorf("index %d drawn %d times in 4000 samples of 3 of 10, want about 1200", i, n)
		}
	}
}

func TestBoundedUint64(t *testing.T) {
	src := rand.NewPCG(1, 2)
	for _, n := range []uint64{1, 2, 3, 7, 1 << 40, 1<<63 + 5} {
		for range 200 {
			if v := boundedUint64(src, n); v >= n {
				t.Fatalf("boundedUint64(%d) = %d", n, v)
			}
		}
	}
}
