package tokenizer

import "sync"

// mergeRule is what a mergeable pair of ids turns into: the merge's rank (its
// line in the merges list; lower merges first) and the id of the merged token.
type mergeRule struct{ rank, id int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// symbol is one token of a word being merged, in a doubly linked list laid
// over a slice; id < 0 marks a symbol absorbed by its left neighbour.
type symbol struct{ id, prev, next int32 }

// candidate is a possible merge of the symbol at pos with its successor.
type candidate struct{ rank, pos, id int32 }

func (a candidate) less(b candidate) bool {
	return a.rank < b.rank || a.rank == b.rank && a.pos < b.pos
}

// mergeQueue is a binary min-heap of candidates ordered by (rank, pos): the
// lowest-ranked merge first and, among equal ranks, the leftmost, exactly as
// Hugging Face's BPE orders them.
type mergeQueue []candidate

func (q *mergeQueue) push(c candidate) {
	h := append(*q, c)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *mergeQueue) pop() candidate {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	h.down(0)
	*q = h
	return top
}

func (q mergeQueue) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q) {
			return
		}
		m := l
		if r := l + 1; r < len(q) && q[r].less(q[l]) {
			m = r
		}
		if !q[m].less(q[i]) {
			return
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
}

// scratch holds the buffers of one merge, reused through a pool.
type scratch struct {
	syms  []symbol
	queue mergeQueue
	buf   []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// mergeAll applies the merges to the symbols of sc and appends the resulting
// ids to dst. Stale queue entries (a symbol already absorbed, or a pair that
// changed since it was queued) are skipped when popped.
//
// A symbol whose id is in no merge at all (inert) can never join a neighbour,
// so merges never cross it: the symbols are merged one inert-free segment at a
// time, which gives the same result with far smaller queues on long words (for
// Llama 2, which has no pre-tokenizer, a whole text is one word; newlines are
// inert there).
func mergeAll(m *bpe, sc *scratch, dst []int32) []int32 {
	syms := sc.syms
	for start := 0; start < len(syms); {
		end := start
		for end < len(syms) && !m.inert(syms[end].id) {
			end++
		}
		if end-start > 1 {
			mergeSegment(m.merges, syms, start, end, sc)
		}
		start = end + 1
	}
	for _, s := range syms {
		if s.id >= 0 {
			dst = append(dst, s.id)
		}
	}
	return dst
}

// mergeSegment merges syms[start:end], a run without inert symbols.
func mergeSegment(merges map[uint64]mergeRule, syms []symbol, start, end int, sc *scratch) {
	q := sc.queue[:0]
	for i := start; i+1 < end; i++ {
		if r, ok := merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q = append(q, candidate{r.rank, int32(i), r.id})
		}
	}
	for i := len(q)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
	for len(q) > 0 {
		top := q.pop()
		s := &syms[top.pos]
		if s.id < 0 || s.next < 0 {
			continue
		}
		right := syms[s.next]
		if r, ok := merges[pairKey(s.id, right.id)]; !ok || r.id != top.id {
			continue
		}
		syms[s.next].id = -1
		s.id, s.next = top.id, right.next
		if s.next >= 0 {
			syms[s.next].prev = top.pos
			if r, ok := merges[pairKey(s.id, syms[s.next].id)]; ok {
				q.push(candidate{r.rank, top.pos, r.id})
			}
		}
		if s.prev >= 0 {
			if r, ok := merges[pairKey(syms[s.prev].id, s.id)]; ok {
				q.push(candidate{r.rank, s.prev, r.id})
			}
		}
	}
	sc.queue = q
}
