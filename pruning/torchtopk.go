package pruning

import (
	"math"
	"math/bits"
)

// torchTopK returns the indices torch.topk(vals, k, largest) selects on the
// CPU (PyTorch 1.13, ATen's topk_impl_loop built with libstdc++). Which of
// several equal values torch keeps depends on its selection algorithm, so
// reproducing torch's masks exactly when magnitudes tie means running the
// same algorithm: pairs (value, index) are reordered by std::partial_sort
// when k·64 ≤ n and by std::nth_element otherwise, both with a comparator
// on the value alone (NaN ordered as the largest), and the first k pairs
// are the result. The order of the returned indices is not meaningful.
func torchTopK(vals []float64, k int, largest bool) []int {
	n := len(vals)
	if k <= 0 || n == 0 {
		return nil
	}
	q := make([]topkElem, n)
	for i, v := range vals {
		q[i] = topkElem{v, i}
	}
	less := func(x, y topkElem) bool {
		xn, yn := math.IsNaN(x.v), math.IsNaN(y.v)
		if largest {
			return (xn && !yn) || x.v > y.v
		}
		return (!xn && yn) || x.v < y.v
	}
	s := stdSorter{q: q, less: less}
	if k*64 <= n {
		s.heapSelect(0, k, n)
	} else {
		s.nthElement(0, k-1, n)
	}
	out := make([]int, k)
	for i := range out {
		out[i] = q[i].i
	}
	return out
}

type topkElem struct {
	v float64
	i int
}

// stdSorter replays libstdc++'s std::nth_element (introselect) and the
// heap selection of std::partial_sort, step for step, on q.
type stdSorter struct {
	q    []topkElem
	less func(x, y topkElem) bool
}

func (s stdSorter) comp(a, b int) bool { return s.less(s.q[a], s.q[b]) }
func (s stdSorter) swap(a, b int)      { s.q[a], s.q[b] = s.q[b], s.q[a] }

// nthElement is std::nth_element(first, nth, last): __introselect with a
// depth limit of 2·⌊log₂(last−first)⌋.
func (s stdSorter) nthElement(first, nth, last int) {
	if first == last || nth == last {
		return
	}
	depth := 2 * (bits.Len(uint(last-first)) - 1)
	for last-first > 3 {
		if depth == 0 {
			s.heapSelect(first, nth+1, last)
			s.swap(first, nth)
			return
		}
		depth--
		cut := s.partitionPivot(first, last)
		if cut <= nth {
			first = cut
		} else {
			last = cut
		}
	}
	s.insertionSort(first, last)
}

// partitionPivot is __unguarded_partition_pivot: median of three moved to
// first, then an unguarded Hoare partition of [first+1, last).
func (s stdSorter) partitionPivot(first, last int) int {
	mid := first + (last-first)/2
	s.medianToFirst(first, first+1, mid, last-1)
	lo, hi := first+1, last
	for {
		for s.comp(lo, first) {
			lo++
		}
		hi--
		for s.comp(first, hi) {
			hi--
		}
		if lo >= hi {
			return lo
		}
		s.swap(lo, hi)
		lo++
	}
}

// medianToFirst is __move_median_to_first.
func (s stdSorter) medianToFirst(result, a, b, c int) {
	switch {
	case s.comp(a, b):
		switch {
		case s.comp(b, c):
			s.swap(result, b)
		case s.comp(a, c):
			s.swap(result, c)
		default:
			s.swap(result, a)
		}
	case s.comp(a, c):
		s.swap(result, a)
	case s.comp(b, c):
		s.swap(result, c)
	default:
		s.swap(result, b)
	}
}

// insertionSort is __insertion_sort.
func (s stdSorter) insertionSort(first, last int) {
	for i := first + 1; i < last; i++ {
		v := s.q[i]
		if s.less(v, s.q[first]) {
			copy(s.q[first+1:i+1], s.q[first:i])
			s.q[first] = v
			continue
		}
		j := i
		for s.less(v, s.q[j-1]) {
			s.q[j] = s.q[j-1]
			j--
		}
		s.q[j] = v
	}
}

// heapSelect is __heap_select: a max-heap (under less) of [first, middle)
// that every later element smaller than its top replaces.
func (s stdSorter) heapSelect(first, middle, last int) {
	s.makeHeap(first, middle)
	for i := middle; i < last; i++ {
		if s.comp(i, first) {
			// __pop_heap(first, middle, i)
			v := s.q[i]
			s.q[i] = s.q[first]
			s.adjustHeap(first, 0, middle-first, v)
		}
	}
}

// makeHeap is __make_heap.
func (s stdSorter) makeHeap(first, last int) {
	n := last - first
	if n < 2 {
		return
	}
	for parent := (n - 2) / 2; ; parent-- {
		s.adjustHeap(first, parent, n, s.q[first+parent])
		if parent == 0 {
			return
		}
	}
}

// adjustHeap is __adjust_heap followed by __push_heap.
func (s stdSorter) adjustHeap(first, hole, n int, v topkElem) {
	top, child := hole, hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if s.comp(first+child, first+child-1) {
			child--
		}
		s.q[first+hole] = s.q[first+child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		s.q[first+hole] = s.q[first+child-1]
		hole = child - 1
	}
	parent := (hole - 1) / 2
	for hole > top && s.less(s.q[first+parent], v) {
		s.q[first+hole] = s.q[first+parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	s.q[first+hole] = v
}
