package pruning

import (
	"math"
	"math/rand/v2"

	"lopper/internal/par"
	"lopper/model"
)

// magnitudeScores writes |W| of every target into dst (w and dst flat
// over the layout).
func magnitudeScores(w []float32, targets []model.TensorInfo, dst []float32, p *phase) {
	par.For(len(targets), func(i int) {
		t := targets[i]
		absInto(t.Of(dst), t.Of(w))
		p.add(1)
	})
}

// absInto writes |w| into d.
func absInto(d, w []float32) {
	for j, v := range w {
		d[j] = float32(math.Abs(float64(v)))
	}
}

// randomScores writes uniform [0, 1) scores into the targets' entries of
// dst. Each tensor draws from its own PCG stream (seed, tensor offset), so
// a tensor's scores depend on the seed and its place in the layout only,
// not on which other tensors are targets or on scheduling.
func randomScores(targets []model.TensorInfo, dst []float32, seed uint64, p *phase) {
	par.For(len(targets), func(i int) {
		t := targets[i]
		randomInto(t.Of(dst), seed, t.Offset)
		p.add(1)
	})
}

// randomInto fills d with the random scores of the tensor at offset.
func randomInto(d []float32, seed uint64, offset int) {
	rng := rand.New(rand.NewPCG(seed, uint64(offset)))
	for j := range d {
		d[j] = rng.Float32()
	}
}
