package train

import (
	"math"
	"testing"
)

// The schedule's defining points: warmup reaches LR at its last step, the
// cosine passes the midpoint (LR+MinLR)/2 halfway through the decay, the
// linear decay falls by equal steps, and every decay is monotone and stays
// above MinLR.
func TestLRSchedule(t *testing.T) {
	near := func(t *testing.T, what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.15g, want %.15g", what, got, want)
		}
	}
	c := Config{Steps: 14, LR: 1e-3, MinLR: 1e-4, WarmupSteps: 4, Schedule: Cosine}
	near(t, "warmup step 0", c.LRAt(0), 0.25e-3)
	near(t, "warmup step 1", c.LRAt(1), 0.5e-3)
	near(t, "last warmup step", c.LRAt(3), 1e-3)
	near(t, "first decay step", c.LRAt(4), 1e-3)
	near(t, "cosine midpoint", c.LRAt(9), 0.55e-3) // p = 5/10
	near(t, "cosine at p=0.8", c.LRAt(12), 1e-4+0.9e-3*0.5*(1+math.Cos(0.8*math.Pi)))
	prev := math.Inf(1)
	for s := 4; s < c.Steps; s++ {
		lr := c.LRAt(s)
		if lr > prev || lr < c.MinLR {
			t.Errorf("cosine step %d: lr %g after %g (min %g)", s, lr, prev, c.MinLR)
		}
		prev = lr
	}

	l := Config{Steps: 10, LR: 1, MinLR: 0, Schedule: Linear}
	for s := range l.Steps {
		near(t, "linear", l.LRAt(s), 1-float64(s)/10)
	}
	k := Config{Steps: 5, LR: 0.5, WarmupSteps: 2, Schedule: Constant}
	for s, want := range []float64{0.25, 0.5, 0.5, 0.5, 0.5} {
		near(t, "constant", k.LRAt(s), want)
	}
	all := Config{Steps: 3, LR: 0.3, WarmupSteps: 3, Schedule: Cosine}
	near(t, "warmup-only last step", all.LRAt(2), 0.3)
}
