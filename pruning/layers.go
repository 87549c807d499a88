package pruning

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"lopper/model"
)

// scoreLayers scores whole blocks: Block Influence, Taylor (Σ |w·g| over
// the block's linear weights and biases) or random.
func scoreLayers(ctx context.Context, m *model.Model, o StructuredOptions) ([]float64, error) {
	L := m.Config.NumLayers()
	var s []float64
	switch o.Criterion {
	case ByBlockInfluence:
		var err error
		if s, err = blockInfluence(ctx, m, o.Calibration, o.Progress); err != nil {
			return nil, err
		}
	case ByTaylor:
		g, err := calibrationGradient(ctx, m, o.Calibration, o.Progress)
		if err != nil {
			return nil, err
		}
		s = make([]float64, L)
		for l := range s {
			s[l] = regionsTaylor(m.W, g, blockRegions(m.Layout, l))
		}
	case ByRandom:
		rng := rand.New(rand.NewPCG(o.Seed, math.MaxUint64))
		s = make([]float64, L)
		for l := range s {
			s[l] = rng.Float64()
		}
	default:
		return nil, fmt.Errorf("criterion %q does not score whole layers", o.Criterion)
	}
	for l, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("layer %d: %s score is %g (non-finite weights or activations)", l, o.Criterion, v)
		}
	}
	return s, nil
}

// planLayers removes the lowest-scored whole layers.
func planLayers(c *model.Config, scores []float64, o StructuredOptions) (Plan, error) {
	L := c.NumLayers()
	k := removeCount(o, L)
	if k >= L {
		return Plan{}, fmt.Errorf("removing %d of %d layers would leave none; at most %d can go", k, L, L-1)
	}
	if k == 0 {
		return Plan{}, fmt.Errorf("ratio %g of %d layers rounds to removing none", o.Ratio, L)
	}
	p := KeepAll(c)
	for _, l := range newUnits(scores).order[:k] {
		p.Layers[l].Drop = true
	}
	return p, nil
}
