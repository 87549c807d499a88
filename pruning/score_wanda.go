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
		n, err := inputNorms(stats, t)
		if err != nil {
			return err
		}
		norms[i] = n
	}
	par.For(len(targets), func(i int) {
		t := targets[i]
		_, cols := rowsCols(t)
		wandaRows(t.Of(dst), t.Of(w), cols, norms[i])
		p.add(1)
	})
	return nil
}

// inputNorms returns ‖X_j‖₂ of every input column of t.
func inputNorms(stats *statSet, t model.TensorInfo) ([]float32, error) {
	st, err := stats.of(t)
	if err != nil {
		return nil, err
	}
	n := make([]float32, st.Cols)
	for j, v := range st.NormSq {
		n[j] = float32(math.Sqrt(v))
	}
	return n, nil
}

// wandaRows writes |w|·norms into d, row by row (rows of cols entries).
func wandaRows(d, w []float32, cols int, norms []float32) {
	for r := 0; r < len(w); r += cols {
		wr, dr := w[r:r+cols], d[r:r+cols]
		for j, v := range wr {
			dr[j] = float32(math.Abs(float64(v))) * norms[j]
		}
	}
}
