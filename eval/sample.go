package eval

import (
	"math/bits"
	"math/rand/v2"
	"sort"
)

// selectTasks returns the indices of the tasks to evaluate, ascending:
// all of them when limit is 0 or at least n; otherwise the first limit, or,
// when sample is set, limit indices drawn uniformly without replacement with
// a generator seeded by seed. The draw is a partial Fisher–Yates shuffle over
// PCG output with bounded integers computed here, so a seed selects the same
// tasks with every Go version.
func selectTasks(n, limit int, sample bool, seed uint64) []int {
	k := n
	if limit > 0 && limit < n {
		k = limit
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if k == n || !sample {
		return idx[:k]
	}
	src := rand.NewPCG(seed, 0x6c6f70706572) // "lopper"
	for i := range k {
		j := i + int(boundedUint64(src, uint64(n-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	chosen := idx[:k]
	sort.Ints(chosen)
	return chosen
}

// boundedUint64 returns a uniform integer in [0, n) (Lemire's method with
// rejection), n > 0.
func boundedUint64(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}
