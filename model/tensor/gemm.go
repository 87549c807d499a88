package tensor

import "lopper/internal/par"

// Blocked matrix product in the GotoBLAS/BLIS structure. For every block of
// gemmKC steps along k, both operands are packed into panels that a
// register-tiled micro-kernel streams through: A into panels of mr rows
// (a[p*mr+r]), B into panels of nr columns (b[p*nr+j]). The k blocks run in
// order; within one, the output is cut into chunks of whole mr×nr tiles that
// workers claim dynamically, while the next block is packed alongside.
//
// Determinism: an element of C is computed by exactly one kernel call per k
// block, with one multiply-add per step in k order, starting from zero and
// then added to C. Neither the blocking along k nor the arithmetic depends on
// how many workers there are or which one computes a tile, so the bits of C
// do not either.

const (
	gemmKC = 256 // k steps per packed block (fixed: it sets the summation order)
	gemmMC = 256 // rows of C per work chunk, rounded down to whole tiles
	gemmNC = 384 // columns of C per work chunk, rounded down to whole tiles

	// gemmPackItem is about how many floats one packing work item moves.
	gemmPackItem = 1 << 16
	// gemmSerialWork is the m·n·k below which a product runs on the
	// calling goroutine only: goroutine hand-offs would cost more.
	gemmSerialWork = 1 << 21
	// gemmMaxTile bounds mr·nr for the edge-tile scratch buffer.
	gemmMaxTile = 512
)

// microKernel computes one mr×nr tile of C with row stride ldc from packed
// panels a (kc·mr floats) and b (kc·nr floats):
//
//	C[r][j] = (load ? C[r][j] : 0) + Σ_p a[p*mr+r]·b[p*nr+j]
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, c []float32, ldc int, load bool)
}

// operand is a read-only matrix view whose element (i, p) is d[i*rs+p*cs].
// Both operands are viewed with k as the second index: A as m×k, B as n×k.
type operand struct {
	d      []float32
	rs, cs int
}

// gemm computes C[m,n] (+)= Σ_p A(i,p)·B(j,p) with the given micro-kernel;
// row i of C starts at c[i*ldc].
func gemm(kern *microKernel, c []float32, ldc int, a, b operand, m, n, k int, accumulate bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	workers := numWorkers()
	if float64(m)*float64(n)*float64(k) < gemmSerialWork {
		workers = 1
	}
	g := newGemmPlan(kern, m, n, k, workers)
	g.ldc = ldc
	if workers == 1 {
		g.runSerial(c, a, b, accumulate)
		return
	}
	g.runParallel(c, a, b, workers, accumulate)
}

// runSerial computes the product on the calling goroutine. It allocates
// nothing once the buffer pool holds a large enough buffer.
func (g *gemmPlan) runSerial(c []float32, a, b operand, accumulate bool) {
	buf := getFloats(g.aSize + g.bSize + gemmMaxTile)
	pa, pb, tile := (*buf)[:g.aSize], (*buf)[g.aSize:g.aSize+g.bSize], (*buf)[g.aSize+g.bSize:]
	for t := 0; t < g.nk; t++ {
		for i := range g.packItems() {
			g.pack(pa, pb, a, b, t, i)
		}
		for j := range g.chunks {
			if g.bInChunk {
				g.packChunkB(pb, b, t, j)
			}
			g.computeChunk(c, pa, pb, tile, t, j, accumulate || t > 0)
		}
	}
	putFloats(buf)
}

// runParallel computes the product on the given number of goroutines,
// packing k block t+1 while computing block t into two sets of buffers.
func (g gemmPlan) runParallel(c []float32, a, b operand, workers int, accumulate bool) {
	buf := getFloats(2*(g.aSize+g.bSize) + workers*gemmMaxTile)
	defer putFloats(buf)
	var packA, packB [2][]float32
	for s := 0; s < 2; s++ {
		off := s * (g.aSize + g.bSize)
		packA[s] = (*buf)[off : off+g.aSize]
		packB[s] = (*buf)[off+g.aSize : off+g.aSize+g.bSize]
	}
	tiles := (*buf)[2*(g.aSize+g.bSize):]
	packItems := g.packItems()
	par.ForWorker(packItems, workers, func(_, i int) { g.pack(packA[0], packB[0], a, b, 0, i) })
	for t := 0; t < g.nk; t++ {
		next := 0
		if t+1 < g.nk {
			next = packItems
		}
		// Packing items alternate with compute chunks so that packing,
		// which waits on memory, overlaps with computing, which does not.
		par.ForWorker(next+g.chunks, workers, func(w, i int) {
			isPack, j := interleave(i, next, g.chunks)
			if isPack {
				g.pack(packA[(t+1)%2], packB[(t+1)%2], a, b, t+1, j)
				return
			}
			if g.bInChunk {
				g.packChunkB(packB[t%2], b, t, j)
			}
			tile := tiles[w*gemmMaxTile : (w+1)*gemmMaxTile]
			g.computeChunk(c, packA[t%2], packB[t%2], tile, t, j, accumulate || t > 0)
		})
	}
}

// gemmPlan is the blocking of one product. The k blocking depends on k
// alone; the chunk shape also on the worker count.
type gemmPlan struct {
	kern           *microKernel
	m, n, k        int
	ldc            int
	mp, np         int // panels of A and of B
	nk             int // k blocks
	aSize, bSize   int // floats in one packed block of A and of B
	aGroup, bGroup int // panels per packing item
	aItems, bItems int
	mcp, ncp       int // panels per chunk along m and along n
	chunksN        int
	chunks         int
	// bInChunk: every B panel is used by one chunk only (a single chunk
	// row), so that chunk packs it just before use, while it is hot.
	bInChunk bool
}

// newGemmPlan blocks an m×n×k product for the given number of workers. The
// chunk sizes may depend on the worker count (they only decide who computes
// which tiles); the k blocking does not.
func newGemmPlan(kern *microKernel, m, n, k, workers int) gemmPlan {
	mr, nr := kern.mr, kern.nr
	g := gemmPlan{kern: kern, m: m, n: n, k: k}
	g.mp = (m + mr - 1) / mr
	g.np = (n + nr - 1) / nr
	g.nk = (k + gemmKC - 1) / gemmKC
	kc := min(k, gemmKC)
	g.aSize = g.mp * mr * kc
	g.bSize = g.np * nr * kc
	g.aGroup = max(1, gemmPackItem/(mr*kc))
	g.bGroup = max(1, gemmPackItem/(nr*kc))
	g.aItems = (g.mp + g.aGroup - 1) / g.aGroup
	g.bItems = (g.np + g.bGroup - 1) / g.bGroup
	g.mcp, g.ncp = chunkShape(g.mp, g.np, max(1, gemmMC/mr), max(1, gemmNC/nr), workers)
	g.chunksN = (g.np + g.ncp - 1) / g.ncp
	g.chunks = (g.mp + g.mcp - 1) / g.mcp * g.chunksN
	g.bInChunk = g.mp <= g.mcp
	return g
}

// chunkShape returns how many A panels (rows) and B panels (columns) a
// chunk of C takes, at most maxRows and maxCols. One worker takes the
// largest chunks, which reuse each B panel over the most A panels. With more
// workers, the chunks must split evenly, because a worker left without a
// chunk at the end of a k block waits for the others. There must also be
// enough of them (4 per worker) for the dynamic claiming to even out the
// packing items and other load. Among the shapes that allow that it prefers
// the best balance, then taller, then wider chunks.
func chunkShape(mp, np, maxRows, maxCols, workers int) (mcp, ncp int) {
	mcp, ncp = min(mp, maxRows), min(np, maxCols)
	if workers <= 1 {
		return mcp, ncp
	}
	type score struct {
		enough bool
		eff    float64
		rows   int
		cols   int
	}
	better := func(a, b score) bool {
		switch {
		case a.enough != b.enough:
			return a.enough
		case a.eff > b.eff+1e-9 || a.eff < b.eff-1e-9:
			return a.eff > b.eff
		case a.rows != b.rows:
			return a.rows > b.rows
		}
		return a.cols > b.cols
	}
	var best score
	for r := min(mp, maxRows); r >= max(1, maxRows/4); r-- {
		for c := min(np, maxCols); c >= max(1, maxCols/4); c-- {
			chunks := ((mp + r - 1) / r) * ((np + c - 1) / c)
			rounds := (chunks + workers - 1) / workers
			// Work done over the work of the slowest worker's rounds of
			// whole chunks.
			sc := score{chunks >= 4*workers, float64(mp*np) / float64(rounds*r*c*workers), r, c}
			if best.rows == 0 || better(sc, best) {
				best, mcp, ncp = sc, r, c
			}
		}
	}
	return mcp, ncp
}

// kBlock returns the first k step and the length of block t.
func (g *gemmPlan) kBlock(t int) (p0, kcb int) {
	p0 = t * gemmKC
	return p0, min(gemmKC, g.k-p0)
}

// packItems is the number of packing items of one k block: the A items,
// then the B items unless each chunk packs its own B panels.
func (g *gemmPlan) packItems() int {
	if g.bInChunk {
		return g.aItems
	}
	return g.aItems + g.bItems
}

// pack runs packing item i of k block t into pa and pb.
func (g *gemmPlan) pack(pa, pb []float32, a, b operand, t, i int) {
	p0, kcb := g.kBlock(t)
	if i < g.aItems {
		packPanels(pa, a, i*g.aGroup, min(g.mp, (i+1)*g.aGroup), g.kern.mr, g.m, p0, kcb)
		return
	}
	i -= g.aItems
	packPanels(pb, b, i*g.bGroup, min(g.np, (i+1)*g.bGroup), g.kern.nr, g.n, p0, kcb)
}

// packChunkB packs the B panels of one chunk for k block t.
func (g *gemmPlan) packChunkB(pb []float32, b operand, t, chunk int) {
	p0, kcb := g.kBlock(t)
	cn := chunk % g.chunksN
	packPanels(pb, b, cn*g.ncp, min(g.np, (cn+1)*g.ncp), g.kern.nr, g.n, p0, kcb)
}

// computeChunk runs the micro-kernel over the tiles of one chunk of C for k
// block t. Each B panel stays in L1 while the chunk's A panels stream by.
// tile is gemmMaxTile floats of scratch for the edge tiles.
func (g *gemmPlan) computeChunk(c, pa, pb, tile []float32, t, chunk int, load bool) {
	_, kcb := g.kBlock(t)
	mr, nr, n, ldc := g.kern.mr, g.kern.nr, g.n, g.ldc
	cm, cn := chunk/g.chunksN, chunk%g.chunksN
	ip0, ip1 := cm*g.mcp, min(g.mp, (cm+1)*g.mcp)
	jp0, jp1 := cn*g.ncp, min(g.np, (cn+1)*g.ncp)
	for jp := jp0; jp < jp1; jp++ {
		bp := pb[jp*nr*kcb : (jp+1)*nr*kcb]
		j0 := jp * nr
		nv := min(nr, n-j0)
		for ip := ip0; ip < ip1; ip++ {
			ap := pa[ip*mr*kcb : (ip+1)*mr*kcb]
			i0 := ip * mr
			mv := min(mr, g.m-i0)
			if mv == mr && nv == nr {
				g.kern.fn(kcb, ap, bp, c[i0*ldc+j0:(i0+mr-1)*ldc+j0+nr], ldc, load)
				continue
			}
			g.edgeTile(c, ap, bp, tile, kcb, i0, j0, mv, nv, load)
		}
	}
}

// edgeTile computes a tile that sticks out of C through the scratch tile,
// with the same arithmetic as a whole one.
func (g *gemmPlan) edgeTile(c, ap, bp, tile []float32, kcb, i0, j0, mv, nv int, load bool) {
	mr, nr, ldc := g.kern.mr, g.kern.nr, g.ldc
	tile = tile[:mr*nr]
	if load {
		for r := 0; r < mv; r++ {
			copy(tile[r*nr:r*nr+nv], c[(i0+r)*ldc+j0:])
		}
	}
	g.kern.fn(kcb, ap, bp, tile, nr, load)
	for r := 0; r < mv; r++ {
		copy(c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+nv], tile[r*nr:])
	}
}

// interleave maps item i of a sequence that alternates between np items of
// one kind and nc of another (then runs on with whichever is left) to its
// kind and index within that kind.
func interleave(i, np, nc int) (first bool, j int) {
	pairs := min(np, nc)
	if i < 2*pairs {
		return i%2 == 0, i / 2
	}
	i -= pairs
	if np > nc {
		return true, i
	}
	return false, i
}
