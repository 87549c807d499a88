package pruning

import (
	"context"
	"fmt"
	"math"

	"lopper/internal/par"
	"lopper/model"
	"lopper/model/tensor"
)

// taylorScores writes the first-order Taylor score |W·∂L/∂W| into dst for
// every target, L being the mean next-token cross-entropy over all the
// calibration windows (positions 0..T−2 of each window predict the next
// token). The gradient is accumulated batch by batch, each batch weighted
// by its share of the predictions, so it is the gradient of that one mean
// whatever the batch size. Progress: the calibration windows, then the
// tensors scored.
func taylorScores(ctx context.Context, m *model.Model, targets []model.TensorInfo, cal *Calibration, dst []float32, progress ProgressFunc) error {
	grads, err := calibrationGradient(ctx, m, cal, progress)
	if err != nil {
		return err
	}
	p := progress.start(len(targets), UnitTensorsScored)
	par.For(len(targets), func(i int) {
		t := targets[i]
		w, g, d := t.Of(m.W), t.Of(grads), t.Of(dst)
		for j, v := range w {
			d[j] = float32(math.Abs(float64(v) * float64(g[j])))
		}
		p.add(1)
	})
	return nil
}

// calibrationGradient returns ∂L/∂θ over m's layout for L the mean
// next-token cross-entropy over every prediction of the calibration
// windows (the last position of each window has no target), reporting the
// windows done to progress.
func calibrationGradient(ctx context.Context, m *model.Model, cal *Calibration, progress ProgressFunc) ([]float32, error) {
	if enc, err := forEncoder(m, cal); enc || err != nil {
		if err != nil {
			return nil, err
		}
		return encoderGradient(ctx, m, cal, progress)
	}
	n, T, B, V := cal.Samples(), cal.SeqLen, cal.batch(), m.Config.Vocab
	if T < 2 {
		return nil, fmt.Errorf("taylor: calibration windows of %d token cannot predict a next token", T)
	}
	st, err := model.NewState(m, B, T)
	if err != nil {
		return nil, err
	}
	grads := make([]float32, m.Layout.Total)
	dlogits := make([]float32, B*T*V)
	targets := make([]int32, B*T)
	total := float32(n * (T - 1))
	p := progress.start(n, UnitWindows)
	for i := 0; i < n; i += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j := min(n, i+B)
		b := j - i
		tokens := cal.window(i, j)
		for k := range b * T {
			targets[k] = -1
			if k%T != T-1 {
				targets[k] = tokens[k+1]
			}
		}
		logits, err := st.Forward(tokens)
		if err != nil {
			return nil, err
		}
		dl := dlogits[:b*T*V]
		if _, err := model.CrossEntropy(logits, targets[:b*T], V, dl); err != nil {
			return nil, err
		}
		tensor.Scale(dl, float32(b*(T-1))/total)
		if err := st.Backward(dl, grads); err != nil {
			return nil, err
		}
		p.to(j)
	}
	return grads, nil
}
