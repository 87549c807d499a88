package pruning

import (
	"math"
	"sync"

	"lopper/internal/par"
)

// segment is a run of entries of one comparison group: their scores and
// their mask (0 pruned, 1 kept). Selection writes 0 into mask.
type segment struct {
	score []float32
	mask  []byte
}

// group is one comparison group: the entries that compete with each other
// (a row, a tensor, all targets, a 128-column block), in layout order, and
// the number of pruned entries it must end with (already pruned ones
// included).
type group struct {
	segs  []segment
	zeros int
}

// parallelMin is the group size from which selection splits its passes
// across goroutines.
const parallelMin = 1 << 20

// selChunk is the fixed chunk size of parallel selection passes.
const selChunk = 1 << 16

// orderKey maps a float32 to a uint32 whose unsigned order is the float's
// order (−0 and +0 are equal). Scores are never NaN here.
func orderKey(f float32) uint32 {
	b := math.Float32bits(f)
	if b == 1<<31 {
		b = 0
	}
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

// counts returns the group's size and its number of pruned entries.
func (g group) counts() (n, pruned int) {
	for _, s := range g.segs {
		n += len(s.mask)
		for _, k := range s.mask {
			if k == 0 {
				pruned++
			}
		}
	}
	return n, pruned
}

// prune prunes the lowest-scoring survivors of g until g has g.zeros
// pruned entries (never reviving one), ties going to the earlier entry,
// and returns how many it pruned.
func (g group) prune() int {
	n, pruned := g.counts()
	need := min(g.zeros, n) - pruned
	if need <= 0 {
		return 0
	}
	c := g.chunks()
	inParallel := n >= parallelMin
	key, ties := findCut(c, need, inParallel)
	applyCut(c, key, ties, inParallel)
	return need
}

// span is a piece of a segment that one task of a pass handles.
type span struct {
	s      segment
	lo, hi int
}

func (g group) chunks() []span {
	var c []span
	for _, s := range g.segs {
		for lo := 0; lo < len(s.mask); lo += selChunk {
			c = append(c, span{s, lo, min(len(s.mask), lo+selChunk)})
		}
	}
	return c
}

// radix digits of orderKey, high to low: 11, 11 and 10 bits.
var digitShift = [3]uint{21, 10, 0}

const digitBuckets = 1 << 11

// findCut returns the key of the need-th smallest surviving entry and how
// many survivors with exactly that key are among the need smallest: the
// survivors below key plus the first ties entries equal to it are the need
// lowest. It is a three-pass radix select over the keys' bits.
func findCut(c []span, need int, inParallel bool) (key uint32, ties int) {
	hp := histPool.Get().(*[]int) // row scope selects per row: no allocation per row
	defer histPool.Put(hp)
	var prefix, pmask uint32
	for _, sh := range digitShift {
		dmask := uint32(digitBuckets - 1)
		if sh == 0 {
			dmask = 1<<10 - 1
		}
		hist := histogram(*hp, c, prefix, pmask, sh, dmask, inParallel)
		d := 0
		for need > hist[d] {
			need -= hist[d]
			d++
		}
		prefix |= uint32(d) << sh
		pmask |= dmask << sh
	}
	return prefix, need
}

// histPool holds digitBuckets-long histograms for findCut to reuse.
var histPool = sync.Pool{New: func() any { h := make([]int, digitBuckets); return &h }}

// histogram counts the survivors whose key matches prefix under pmask by
// their digit (key>>sh)&dmask, into total (digitBuckets long, cleared
// first), and returns it. Integer counts make it independent of how the
// work is split.
func histogram(total []int, c []span, prefix, pmask uint32, sh uint, dmask uint32, inParallel bool) []int {
	count := func(h []int, sp span) {
		sc, mk := sp.s.score, sp.s.mask
		for i := sp.lo; i < sp.hi; i++ {
			if mk[i] == 0 {
				continue
			}
			if k := orderKey(sc[i]); k&pmask == prefix {
				h[(k>>sh)&dmask]++
			}
		}
	}
	clear(total)
	if !inParallel {
		for _, sp := range c {
			count(total, sp)
		}
		return total
	}
	w := par.Workers(len(c))
	hs := make([][]int, w)
	for g := range hs {
		hs[g] = make([]int, digitBuckets)
	}
	par.ForWorker(len(c), w, func(g, i int) { count(hs[g], c[i]) })
	for _, h := range hs {
		for d, v := range h {
			total[d] += v
		}
	}
	return total
}

// applyCut prunes the survivors with keys below key and the first ties
// survivors (in order) whose key equals it.
func applyCut(c []span, key uint32, ties int, inParallel bool) {
	eq := make([]int, len(c))
	below := func(i int) {
		sp := c[i]
		sc, mk := sp.s.score, sp.s.mask
		for j := sp.lo; j < sp.hi; j++ {
			if mk[j] == 0 {
				continue
			}
			switch k := orderKey(sc[j]); {
			case k < key:
				mk[j] = 0
			case k == key:
				eq[i]++
			}
		}
	}
	if inParallel {
		par.For(len(c), below)
	} else {
		for i := range c {
			below(i)
		}
	}
	for i, sp := range c {
		if ties == 0 {
			break
		}
		sc, mk := sp.s.score, sp.s.mask
		for j := sp.lo; j < sp.hi && ties > 0 && eq[i] > 0; j++ {
			if mk[j] != 0 && orderKey(sc[j]) == key {
				mk[j] = 0
				ties--
				eq[i]--
			}
		}
	}
}
