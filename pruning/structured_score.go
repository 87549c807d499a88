package pruning

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"lopper/model"
)

// unitDesc is one scoring unit of a layer: the parameters it owns, and the
// columns of the layer's output projection (down_proj or o_proj) that read
// its activation.
type unitDesc struct {
	regions []region
	outCols []int
}

// scoreUnits returns per-layer scores for o's units before allocation:
// per neuron, per kv group (HeadsKVGroups) or per query head (HeadsQuery), or,
// for Layers, one slice with a score per layer. Progress: the calibration
// windows (when the criterion reads them), then the layers scored.
func scoreUnits(ctx context.Context, m *model.Model, o StructuredOptions) ([][]float64, error) {
	if o.Structure == StructLayers {
		s, err := scoreLayers(ctx, m, o)
		return [][]float64{s}, err
	}
	c := &m.Config
	var grads []float32
	var ss [][]float64
	var err error
	switch o.Criterion {
	case ByTaylor:
		grads, err = calibrationGradient(ctx, m, o.Calibration, o.Progress)
	case ByActivation, ByWanda:
		role := model.RoleO
		if o.Structure == StructNeurons {
			role = model.RoleDown
		}
		ss, err = projInputSumSq(ctx, m, o.Calibration, role, o.Progress)
	}
	if err != nil {
		return nil, err
	}
	out := make([][]float64, c.NumLayers())
	p := o.Progress.start(len(out), UnitLayersScored)
	for l, d := range c.Layers {
		var us []unitDesc
		var proj model.TensorInfo
		if o.Structure == StructNeurons {
			us, proj, err = neuronUnits(m.Layout, l, d)
		} else {
			us, proj, err = headUnits(m.Layout, c, l, o.HeadMode)
		}
		if err != nil {
			return nil, err
		}
		var colL1 []float64
		if o.Criterion == ByWanda {
			colL1 = columnL1(proj.Of(m.W), proj.Rows(), proj.Cols())
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(l)))
		s := make([]float64, len(us))
		for u, ud := range us {
			switch o.Criterion {
			case ByL1:
				s[u] = regionsNorm(m.W, ud.regions, 1)
			case ByL2:
				s[u] = regionsNorm(m.W, ud.regions, 2)
			case ByTaylor:
				s[u] = regionsTaylor(m.W, grads, ud.regions)
			case ByActivation:
				for _, j := range ud.outCols {
					s[u] += ss[l][j]
				}
				s[u] = math.Sqrt(s[u])
			case ByWanda:
				for _, j := range ud.outCols {
					s[u] += math.Sqrt(ss[l][j]) * colL1[j]
				}
			case ByRandom:
				s[u] = rng.Float64()
			}
			if math.IsNaN(s[u]) || math.IsInf(s[u], 0) {
				return nil, fmt.Errorf("layer %d: %s score of %s unit %d is %g (non-finite weights or activations)", l, o.Criterion, o.Structure, u, s[u])
			}
		}
		out[l] = s
		p.add(1)
	}
	return out, nil
}

// columnL1 returns Σ_i |w[i, j]| for every column j of a [rows, cols]
// matrix.
func columnL1(w []float32, rows, cols int) []float64 {
	out := make([]float64, cols)
	for i := 0; i < rows; i++ {
		for j, v := range w[i*cols : (i+1)*cols] {
			out[j] += math.Abs(float64(v))
		}
	}
	return out
}
