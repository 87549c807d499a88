package pruning

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// obsLayer is a random layer W [rows, cols] and inputs X [n, cols] with
// correlated, unevenly scaled columns, as real activations are.
func obsLayer(rows, cols, n int, seed uint64) (w, x []float32) {
	rng := rand.New(rand.NewPCG(seed, 3))
	w = make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	mix := make([]float64, cols*cols)
	for i := range mix {
		mix[i] = rng.NormFloat64() / math.Sqrt(float64(cols))
	}
	x = make([]float32, n*cols)
	z := make([]float64, cols)
	for r := range n {
		for j := range z {
			z[j] = rng.NormFloat64() * (0.2 + 3*float64(j%7)/7)
		}
		for j := range cols {
			v := z[j]
			for k := range cols {
				v += 0.5 * mix[j*cols+k] * z[k]
			}
			x[r*cols+j] = float32(v)
		}
	}
	return w, x
}

// reconError is ‖W·Xᵀ − Ŵ·Xᵀ‖² in float64.
func reconError(w, wh, x []float32, rows, cols, n int) float64 {
	var e float64
	for r := range rows {
		for s := range n {
			var d float64
			for j := range cols {
				d += float64(w[r*cols+j]-wh[r*cols+j]) * float64(x[s*cols+j])
			}
			e += d * d
		}
	}
	return e
}

// runOBS prunes a copy of w with SparseGPT given inputs x.
func runOBS(t *testing.T, w, x []float32, rows, cols, n int, s float64, nn, mm, bs int) ([]float32, []byte) {
	t.Helper()
	st := newInputStats(cols, statHessian)
	st.add(x, n, &hessScratch{})
	st.symmetrize()
	f, err := newOBSFactor(st.Hessian, cols, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	wh := slices.Clone(w)
	mask := make([]byte, len(w))
	for i := range mask {
		mask[i] = 1
	}
	sparseGPT(obsTarget{w: wh, mask: mask, rows: rows, cols: cols, sparsity: s, n: nn, m: mm, blockSize: bs}, f)
	for i, k := range mask {
		if k == 0 && wh[i] != 0 {
			t.Fatalf("pruned entry %d is %g", i, wh[i])
		}
		if math.IsNaN(float64(wh[i])) {
			t.Fatalf("entry %d is NaN", i)
		}
	}
	return wh, mask
}

// magnitudePrune zeroes the lowest |w| of every row (n:m groups when
// nn > 0), the baseline SparseGPT must beat.
func magnitudePrune(w []float32, rows, cols int, s float64, nn, mm int) []float32 {
	out := slices.Clone(w)
	score := make([]float32, len(w))
	for i, v := range w {
		score[i] = float32(math.Abs(float64(v)))
	}
	mask := make([]byte, len(w))
	for i := range mask {
		mask[i] = 1
	}
	for r := range rows {
		if nn > 0 {
			for g := 0; g < cols; g += mm {
				pruneLowest(score[r*cols+g:r*cols+g+mm], mask[r*cols+g:r*cols+g+mm], mm-nn)
			}
			continue
		}
		group{zeros: countFor(s, cols), segs: []segment{{score[r*cols : (r+1)*cols], mask[r*cols : (r+1)*cols]}}}.prune()
	}
	for i, k := range mask {
		if k == 0 {
			out[i] = 0
		}
	}
	return out
}

// On a random layer, SparseGPT's reconstruction error ‖WX − ŴX‖ is well
// below magnitude pruning's at the same sparsity, unstructured and 2:4,
// with blocks smaller than the width (lazy updates across blocks).
func TestSparseGPTBeatsMagnitude(t *testing.T) {
	rows, cols, n := 24, 64, 256
	w, x := obsLayer(rows, cols, n, 1)
	for _, c := range []struct {
		name   string
		s      float64
		nn, mm int
	}{{"50%", 0.5, 0, 0}, {"2:4", 0.5, 2, 4}, {"70%", 0.7, 0, 0}} {
		wh, mask := runOBS(t, w, x, rows, cols, n, c.s, c.nn, c.mm, 16)
		sp := float64(zerosIn(mask)) / float64(len(mask))
		if c.nn > 0 {
			for g := 0; g < len(mask); g += c.mm {
				if z := zerosIn(mask[g : g+c.mm]); z != c.mm-c.nn {
					t.Fatalf("%s: group at %d has %d zeros", c.name, g, z)
				}
			}
		} else if want := float64(cols/16) * float64(unstructuredCount(c.s, rows*16)) / float64(rows*cols); sp != want {
			t.Fatalf("%s: sparsity %g, want %g (int(n·s)+1 per 16-column block)", c.name, sp, want)
		}
		eo := reconError(w, wh, x, rows, cols, n)
		em := reconError(w, magnitudePrune(w, rows, cols, sp, c.nn, c.mm), x, rows, cols, n)
		t.Logf("%s: ‖WX−ŴX‖² SparseGPT %.1f, magnitude %.1f", c.name, eo, em)
		if !(eo < 0.7*em) {
			t.Errorf("%s: SparseGPT error %.1f is not well below magnitude's %.1f", c.name, eo, em)
		}
	}
}

// Dead inputs (always 0, H_ii = 0) are handled as the reference does:
// their weights are zeroed and the rest is finite.
func TestSparseGPTDeadInputs(t *testing.T) {
	rows, cols, n := 8, 32, 64
	w, x := obsLayer(rows, cols, n, 2)
	for r := range n {
		x[r*cols+3], x[r*cols+17] = 0, 0
	}
	wh, _ := runOBS(t, w, x, rows, cols, n, 0.5, 0, 0, 128)
	for r := range rows {
		if wh[r*cols+3] != 0 || wh[r*cols+17] != 0 {
			t.Fatalf("row %d: weights of dead inputs are %g, %g", r, wh[r*cols+3], wh[r*cols+17])
		}
	}
}

// With nothing pruned, the weights come back unchanged.
func TestSparseGPTZeroSparsityIsIdentity(t *testing.T) {
	rows, cols, n := 6, 40, 64
	w, x := obsLayer(rows, cols, n, 3)
	wh, mask := runOBS(t, w, x, rows, cols, n, 0, 0, 0, 16)
	if zerosIn(mask) != 0 || !slices.Equal(w, wh) {
		t.Fatal("sparsity 0 changed the layer")
	}
}
