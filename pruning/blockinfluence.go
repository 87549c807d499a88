package pruning

import (
	"context"
	"math"

	"lopper/model"
)

// BlockInfluence returns ShortGPT's block influence of every layer of m
// (Men et al. 2024): BI_i = 1 − mean over all calibration tokens of
// cos(h_in, h_out), h_in and h_out being block i's input and output hidden
// states, computed in one pass over m as it is. A block with low BI
// barely changes its input and is the first to remove. The cosine of a
// zero vector is taken as 0 (as torch's cosine_similarity gives). Memory
// is one batch of one block's activations.
func BlockInfluence(ctx context.Context, m *model.Model, cal *Calibration) ([]float64, error) {
	return blockInfluence(ctx, m, cal, nil)
}

// blockInfluence is BlockInfluence reporting the windows done to progress.
func blockInfluence(ctx context.Context, m *model.Model, cal *Calibration, progress ProgressFunc) ([]float64, error) {
	if err := cal.validate(m.Config.Vocab, m.Config.MaxPos); err != nil {
		return nil, err
	}
	if enc, err := forEncoder(m, cal); enc || err != nil {
		if err != nil {
			return nil, err
		}
		return encoderBlockInfluence(ctx, m, cal, progress)
	}
	n, T, B, H, L := cal.Samples(), cal.SeqLen, cal.batch(), m.Config.Hidden, m.Config.NumLayers()
	st, err := model.NewInferenceState(m, B, T)
	if err != nil {
		return nil, err
	}
	sum := make([]float64, L)
	in := make([]float32, B*T*H)
	p := progress.start(n, UnitWindows)
	for i := 0; i < n; i += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j := min(n, i+B)
		h, err := st.Embed(cal.window(i, j), j-i, T)
		if err != nil {
			return nil, err
		}
		for l := range sum {
			copy(in, h)
			if err := st.BlockForward(l, h, j-i, T, nil); err != nil {
				return nil, err
			}
			for r := 0; r < (j-i)*T; r++ {
				sum[l] += cosineSim(in[r*H:(r+1)*H], h[r*H:(r+1)*H])
			}
		}
		p.to(j)
	}
	bi := make([]float64, L)
	for l := range bi {
		bi[l] = 1 - sum[l]/float64(n*T)
	}
	return bi, nil
}

// cosineSim is a·b / (‖a‖‖b‖) in float64, 0 when either is zero.
func cosineSim(a, b []float32) float64 {
	var ab, aa, bb float64
	for i, x := range a {
		y := float64(b[i])
		ab += float64(x) * y
		aa += float64(x) * float64(x)
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
