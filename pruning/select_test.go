package pruning

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// bruteLowest prunes, by sorting, the survivors with the lowest (score,
// position) until zeros entries are pruned: the reference selection.
func bruteLowest(scores []float32, mask []byte, zeros int) []byte {
	out := slices.Clone(mask)
	var idx []int
	pruned := 0
	for i, k := range out {
		if k == 0 {
			pruned++
		} else {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	for _, i := range idx[:max(0, min(len(idx), zeros-pruned))] {
		out[i] = 0
	}
	return out
}

// randomScores draws scores with many ties, negative values, −0 and +0.
func tieScores(n int, rng *rand.Rand) []float32 {
	s := make([]float32, n)
	for i := range s {
		switch rng.IntN(4) {
		case 0:
			s[i] = float32(rng.IntN(5)) - 2 // ties
		case 1:
			s[i] = float32(math.Copysign(0, -1))
		default:
			s[i] = float32(rng.NormFloat64())
		}
	}
	return s
}

// Radix selection over one or several segments equals sorting by
// (score, position), with already-pruned entries counted and kept.
func TestGroupPruneMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(300)
		scores := tieScores(n, rng)
		mask := make([]byte, n)
		for i := range mask {
			mask[i] = byte(min(1, rng.IntN(5))) // ~20 % already pruned
		}
		zeros := rng.IntN(n + 2)
		want := bruteLowest(scores, mask, zeros)
		// Split into up to three segments at random points.
		got := slices.Clone(mask)
		a := rng.IntN(n + 1)
		b := a + rng.IntN(n-a+1)
		g := group{zeros: zeros, segs: []segment{
			{scores[:a], got[:a]}, {scores[a:b], got[a:b]}, {scores[b:], got[b:]},
		}}
		g.prune()
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d zeros=%d): got %v, want %v", trial, n, zeros, got, want)
		}
	}
}

// The parallel passes (groups of at least parallelMin entries) give the
// same selection as sorting, for any GOMAXPROCS.
func TestGroupPruneLargeParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := parallelMin + 12345
	scores := tieScores(n, rng)
	mask := make([]byte, n)
	for i := range mask {
		mask[i] = 1
	}
	want := bruteLowest(scores, mask, n/2)
	for _, procs := range []int{1, 4} {
		prev := runtime.GOMAXPROCS(procs)
		got := slices.Clone(mask)
		g := group{zeros: n / 2, segs: []segment{{scores[:n/3], got[:n/3]}, {scores[n/3:], got[n/3:]}}}
		g.prune()
		runtime.GOMAXPROCS(prev)
		if !slices.Equal(got, want) {
			t.Fatalf("GOMAXPROCS=%d: selection differs from sorting", procs)
		}
	}
}

func TestOrderKeyIsMonotonic(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -3.5, -1, -1e-30, float32(math.Copysign(0, -1)), 0, 1e-30, 1, 2, float32(math.Inf(1))}
	for i := 1; i < len(vals); i++ {
		a, b := orderKey(vals[i-1]), orderKey(vals[i])
		if vals[i-1] == vals[i] && a != b || vals[i-1] < vals[i] && a >= b {
			t.Errorf("orderKey(%g)=%#x, orderKey(%g)=%#x", vals[i-1], a, vals[i], b)
		}
	}
}

func BenchmarkRowSelection(b *testing.B) {
	rows, cols := 256, 4096
	rng := rand.New(rand.NewPCG(5, 6))
	scores := make([]float32, rows*cols)
	for i := range scores {
		scores[i] = rng.Float32()
	}
	mask := make([]byte, rows*cols)
	for b.Loop() {
		for i := range mask {
			mask[i] = 1
		}
		var gs []group
		for r := range rows {
			gs = append(gs, group{zeros: cols / 2, segs: []segment{{scores[r*cols : (r+1)*cols], mask[r*cols : (r+1)*cols]}}})
		}
		pruneGroups(gs, nil)
	}
	b.SetBytes(int64(rows * cols * 4))
}

func BenchmarkGlobalSelection(b *testing.B) {
	n := 1 << 24
	rng := rand.New(rand.NewPCG(5, 6))
	scores := make([]float32, n)
	for i := range scores {
		scores[i] = rng.Float32()
	}
	mask := make([]byte, n)
	for b.Loop() {
		for i := range mask {
			mask[i] = 1
		}
		group{zeros: n / 2, segs: []segment{{scores, mask}}}.prune()
	}
	b.SetBytes(int64(n * 4))
}
