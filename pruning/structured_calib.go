package pruning

import (
	"context"
	"fmt"

	"lopper/model"
)

// projInputSumSq returns, per layer, Σ over all calibration tokens of
// x_c² for every input column c of the layer's tensor with the given role
// (down_proj or o_proj: the neurons' and heads' activations), from one
// pass over the dense model.
func projInputSumSq(ctx context.Context, m *model.Model, cal *Calibration, role model.Role) ([][]float64, error) {
	L := m.Config.NumLayers()
	targets := make([]model.TensorInfo, L)
	for l := range targets {
		t, ok := m.Layout.Find(l, role)
		if !ok {
			return nil, fmt.Errorf("layer %d: no %s tensor", l, role)
		}
		targets[l] = t
	}
	stats, err := calibrateOnePass(ctx, m, cal, statNorms, targets)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, L)
	for l, t := range targets {
		st, err := stats.of(t)
		if err != nil {
			return nil, err
		}
		out[l] = st.NormSq
	}
	return out, nil
}

// calibGradient returns ∂L/∂w over m's layout, L being the mean next-token
// cross-entropy over every prediction of the calibration windows (the
// last position of each window has no target).
func calibGradient(ctx context.Context, m *model.Model, cal *Calibration) ([]float32, error) {
	T, n, B := cal.SeqLen, cal.Samples(), cal.batch()
	st, err := model.NewState(m, B, T)
	if err != nil {
		return nil, err
	}
	V := m.Config.Vocab
	grads := make([]float32, m.Layout.Total)
	dlogits := make([]float32, B*T*V)
	total := n * (T - 1)
	for i := 0; i < n; i += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j := min(n, i+B)
		toks := cal.window(i, j)
		targets := make([]int32, len(toks))
		for k := range targets {
			targets[k] = -1
			if (k+1)%T != 0 {
				targets[k] = toks[k+1]
			}
		}
		logits, err := st.Forward(toks)
		if err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
		d := dlogits[:len(logits)]
		if _, err := model.CrossEntropy(logits, targets, V, d); err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
		// CrossEntropy's gradient is of this batch's mean; weight it by
		// the batch's share of all predictions.
		scale := float32(float64((j-i)*(T-1)) / float64(total))
		for k := range d {
			d[k] *= scale
		}
		if err := st.Backward(d, grads); err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
	}
	return grads, nil
}
