package pruning

import (
	"context"
	"fmt"

	"lopper/model"
)

// projInputSumSq returns, per layer, Σ over all calibration tokens of
// x_c² for every input column c of the layer's tensor with the given role
// (down_proj or o_proj: the neurons' and heads' activations), from one
// pass over the dense model, reporting the windows done to progress.
func projInputSumSq(ctx context.Context, m *model.Model, cal *Calibration, role model.Role, progress ProgressFunc) ([][]float64, error) {
	L := m.Config.NumLayers()
	targets := make([]model.TensorInfo, L)
	for l := range targets {
		t, ok := m.Layout.Find(l, role)
		if !ok {
			return nil, fmt.Errorf("layer %d: no %s tensor", l, role)
		}
		targets[l] = t
	}
	stats, err := calibrateOnePass(ctx, m, cal, statNorms, targets, progress)
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
