package pruning

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Column norms and the Hessian, accumulated over several hook calls and
// across Hessian row blocks, equal XᵀX and Σx_j² computed in float64.
func TestInputStatsAccumulate(t *testing.T) {
	const cols = hessBlock + 45
	rng := rand.New(rand.NewPCG(8, 9))
	st := newInputStats(cols, statNorms|statHessian)
	var hs hessScratch
	want := make([]float64, cols*cols)
	for _, rows := range []int{7, 130, 1} {
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		st.add(x, rows, &hs)
		for r := range rows {
			for i := range cols {
				for j := range cols {
					want[i*cols+j] += float64(x[r*cols+i]) * float64(x[r*cols+j])
				}
			}
		}
	}
	st.symmetrize()
	if st.Rows != 138 {
		t.Errorf("rows %d, want 138", st.Rows)
	}
	for i := range cols {
		if math.Abs(st.NormSq[i]-want[i*cols+i]) > 1e-9*want[i*cols+i] {
			t.Fatalf("norm² of column %d: %g, want %g", i, st.NormSq[i], want[i*cols+i])
		}
		for j := range cols {
			if d := math.Abs(st.Hessian[i*cols+j] - want[i*cols+j]); d > 1e-4*(1+math.Abs(want[i*cols+j])) {
				t.Fatalf("H[%d][%d] = %g, want %g", i, j, st.Hessian[i*cols+j], want[i*cols+j])
			}
		}
	}
}
