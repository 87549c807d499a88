package pruning

import (
	"math"
	"math/rand/v2"

	"lopper/internal/par"
	"lopper/model"
)

// magnitudeScores writes |W| of every target into dst (flat over the
// layout).
func magnitudeScores(m *model.Model, targets []model.TensorInfo, dst []float32, p *phase) {
	par.For(len(targets), func(i int) {
		t := targets[i]
		d := t.Of(dst)
		for j, v := range t.Of(m.W) {
			d[j] = float32(math.Abs(float64(v)))
		}
		p.add(1)
	})
}

// randomScores writes uniform [0, 1) scores into the targets' entries of
// dst. Each tensor draws from its own PCG stream (seed, tensor offset), so
// a tensor's scores depend on the seed and its place in the layout only,
// not on which other tensors are targets or on scheduling.
func randomScores(targets []model.TensorInfo, dst []float32, seed uint64, p *phase) {
	par.For(len(targets), func(i int) {
		t := targets[i]
		rng := rand.New(rand.NewPCG(seed, uint64(t.Offset)))
		d := t.Of(dst)
		for j := range d {
			d[j] = rng.Float32()
		}
		p.add(1)
	})
}
