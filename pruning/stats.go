package pruning

import (
	"fmt"

	"lopper/internal/par"
	"lopper/model"
	"lopper/model/tensor"
)

// statKinds says which input statistics a criterion needs.
type statKinds uint8

const (
	// statNorms: per-input-column sums of squares Σ_rows x_j² (Wanda).
	statNorms statKinds = 1 << iota
	// statHessian: XᵀX (SparseGPT).
	statHessian
)

// InputStats are the statistics of one linear input (shared by the weights
// that read it: q, k and v; gate and up), accumulated over calibration
// rows. Sums are float64: per hook call the products are summed in float32
// by the matrix kernel, then added here.
type InputStats struct {
	Cols int
	Rows int // calibration rows (tokens) accumulated
	// NormSq[j] = Σ x_j² over the rows; nil unless collected.
	NormSq []float64
	// Hessian is XᵀX, Cols × Cols row-major; nil unless collected. It is
	// accumulated in its lower triangle and mirrored by symmetrize, which
	// statSet.of calls before handing it out.
	Hessian []float64
	sym     bool
}

func newInputStats(cols int, kinds statKinds) *InputStats {
	s := &InputStats{Cols: cols}
	if kinds&statNorms != 0 {
		s.NormSq = make([]float64, cols)
	}
	if kinds&statHessian != 0 {
		s.Hessian = make([]float64, cols*cols)
	}
	return s
}

// hessBlock is the number of Hessian rows one product computes.
const hessBlock = 256

// hessScratch is the working memory of Hessian accumulation, shared by
// the inputs of a statSet (hook calls are sequential).
type hessScratch struct {
	xt, g []float32
}

func (h *hessScratch) grow(rows, cols int) {
	if len(h.xt) < rows*cols {
		h.xt = make([]float32, rows*cols)
	}
	if len(h.g) < hessBlock*cols {
		h.g = make([]float32, hessBlock*cols)
	}
}

// add accumulates rows of x ([rows, Cols]).
func (s *InputStats) add(x []float32, rows int, hs *hessScratch) {
	c := s.Cols
	s.Rows += rows
	if s.NormSq != nil {
		par.Chunks(c, 256, func(j0, j1 int) {
			for r := 0; r < rows; r++ {
				row := x[r*c : (r+1)*c]
				for j := j0; j < j1; j++ {
					v := float64(row[j])
					s.NormSq[j] += v * v
				}
			}
		})
	}
	if s.Hessian != nil {
		s.addHessian(x, rows, hs)
	}
}

// addHessian adds the lower triangle (with whole diagonal blocks) of XᵀX:
// with Xᵀ transposed into contiguous rows, each block of hessBlock Hessian
// rows is one product of those rows of Xᵀ with the rows of Xᵀ up to the
// block's end, half the work of the full product.
func (s *InputStats) addHessian(x []float32, rows int, hs *hessScratch) {
	c := s.Cols
	hs.grow(rows, c)
	xt := hs.xt[:rows*c]
	par.Chunks(c, 64, func(j0, j1 int) {
		for r := range rows {
			row := x[r*c : (r+1)*c]
			for j := j0; j < j1; j++ {
				xt[j*rows+r] = row[j]
			}
		}
	})
	for i0 := 0; i0 < c; i0 += hessBlock {
		i1 := min(c, i0+hessBlock)
		g := hs.g[:(i1-i0)*i1]
		tensor.MatMulNT(g, xt[i0*rows:i1*rows], xt[:i1*rows], i1-i0, i1, rows, false)
		par.Chunks(i1-i0, 16, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				h, gr := s.Hessian[(i0+r)*c:(i0+r)*c+i1], g[r*i1:(r+1)*i1]
				for j, v := range gr {
					h[j] += float64(v)
				}
			}
		})
	}
	s.sym = false
}

// symmetrize mirrors the accumulated lower triangle into the upper one.
func (s *InputStats) symmetrize() {
	if s.Hessian == nil || s.sym {
		return
	}
	c := s.Cols
	par.Chunks(c, 64, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			for j := i + 1; j < c; j++ {
				s.Hessian[i*c+j] = s.Hessian[j*c+i]
			}
		}
	})
	s.sym = true
}

// statSet collects the statistics of the inputs of a set of weights
// through a model.LinearHook.
type statSet struct {
	kinds    statKinds
	byWeight map[string]*InputStats
	scratch  hessScratch
	err      error
}

// newStatSet prepares statistics for the inputs of targets.
func newStatSet(kinds statKinds, targets []model.TensorInfo) *statSet {
	s := &statSet{kinds: kinds, byWeight: map[string]*InputStats{}}
	for _, t := range targets {
		s.byWeight[t.Name] = nil
	}
	return s
}

// drop forgets the statistics of ts (their weights are pruned), so that
// the collector can take them back; the hook ignores ts's inputs after.
func (s *statSet) drop(ts []model.TensorInfo) {
	for _, t := range ts {
		delete(s.byWeight, t.Name)
	}
}

// hook is the model.LinearHook that feeds the set. The first call for an
// input creates its statistics and shares them among the weights that
// read it.
func (s *statSet) hook(weights []string, x []float32, rows, cols int) {
	var st *InputStats
	for _, w := range weights {
		cur, want := s.byWeight[w]
		if !want {
			continue
		}
		if cur == nil {
			if st == nil {
				st = newInputStats(cols, s.kinds)
			}
			s.byWeight[w] = st
		} else {
			st = cur
		}
	}
	if st == nil {
		return
	}
	if st.Cols != cols && s.err == nil {
		s.err = fmt.Errorf("calibration: input of %v has %d columns, statistics were started with %d", weights, cols, st.Cols)
		return
	}
	st.add(x, rows, &s.scratch)
}

// of returns the statistics of weight t's input, or an error naming the
// tensor when calibration never saw it (not the weight of a linear layer)
// or saw the wrong width.
func (s *statSet) of(t model.TensorInfo) (*InputStats, error) {
	if s.err != nil {
		return nil, s.err
	}
	st := s.byWeight[t.Name]
	if st == nil {
		return nil, fmt.Errorf("tensor %q: calibration saw no input for it (only the weights of linear layers inside the blocks have calibration statistics)", t.Name)
	}
	if _, cols := rowsCols(t); cols != st.Cols {
		return nil, fmt.Errorf("tensor %q: %d input columns, its calibration input has %d", t.Name, cols, st.Cols)
	}
	st.symmetrize()
	return st, nil
}
