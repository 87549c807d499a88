package pruning

import (
	"math"

	"lopper/internal/par"
	"lopper/model"
)

// wandaScores writes Wanda's score |W_ij|·‖X_j‖₂ into dst for every
// target, ‖X_j‖₂ being the norm of input column j over the calibration
// rows (Sun et al. 2023). w and dst are flat buffers indexed by the
// targets' offsets. The reference divides the squared norms by the number
// of samples; a common scale changes no ranking and is left out.
func wandaScores(w []float32, targets []model.TensorInfo, stats *statSet, dst []float32, p *phase) error {
	norms := make([][]float32, len(targets))
	for i, t := range targets {
		st, err := stats.of(t)
		if err != nil {
			return err
		}
		n := make([]float32, st.Cols)
		for j, v := range st.NormSq {
			n[j] = float32(math.Sqrt(v))
		}
		norms[i] = n
	}
	par.For(len(targets), func(i int) {
		t := targets[i]
		_, cols := rowsCols(t)
		wt, d, n := t.Of(w), t.Of(dst), norms[i]
		for r := 0; r < len(wt); r += cols {
			wr, dr := wt[r:r+cols], d[r:r+cols]
			for j, v := range wr {
				dr[j] = float32(math.Abs(float64(v))) * n[j]
			}
		}
		p.add(1)
	})
	return nil
}
