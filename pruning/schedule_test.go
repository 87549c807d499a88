package pruning

import (
	"math"
	"testing"
)

func TestScheduleEndpointsAndShapes(t *testing.T) {
	const si, sf, n = 0.1, 0.8, 10
	for _, k := range []ScheduleKind{Linear, Cubic, Exponential} {
		s := Schedule{Kind: k, Initial: si, Final: sf, Steps: n}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		if s.At(0) != si || s.At(n) != sf || s.At(-3) != si || s.At(n+5) != sf {
			t.Errorf("%s: endpoints %g, %g (clamped %g, %g)", k, s.At(0), s.At(n), s.At(-3), s.At(n+5))
		}
		for i := 1; i <= n; i++ {
			if !(s.At(i) > s.At(i-1)) {
				t.Errorf("%s: not increasing at step %d", k, i)
			}
		}
	}
	lin := Schedule{Kind: Linear, Initial: si, Final: sf, Steps: n}
	cub := Schedule{Kind: Cubic, Initial: si, Final: sf, Steps: n}
	exp := Schedule{Kind: Exponential, Initial: si, Final: sf, Steps: n}
	// Linear: equal steps. Cubic: Zhu & Gupta's formula, steps shrinking.
	// Exponential: the density shrinks by the same factor each step.
	for i := 1; i <= n; i++ {
		if d := lin.At(i) - lin.At(i-1); math.Abs(d-(sf-si)/n) > 1e-12 {
			t.Errorf("linear step %d is %g", i, d)
		}
		x := float64(i) / n
		if want := sf + (si-sf)*math.Pow(1-x, 3); math.Abs(cub.At(i)-want) > 1e-12 {
			t.Errorf("cubic at %d: %g, want %g", i, cub.At(i), want)
		}
		if i >= 2 && !(cub.At(i)-cub.At(i-1) < cub.At(i-1)-cub.At(i-2)) {
			t.Errorf("cubic steps should shrink at %d", i)
		}
		r := (1 - exp.At(i)) / (1 - exp.At(i-1))
		if want := math.Pow((1-sf)/(1-si), 1.0/n); math.Abs(r-want) > 1e-12 {
			t.Errorf("exponential density ratio at %d: %g, want %g", i, r, want)
		}
	}
	one := Schedule{Kind: OneShot, Final: 0.5}
	if one.Validate() != nil || one.At(0) != 0.5 || one.At(7) != 0.5 {
		t.Error("one-shot is the final sparsity at every step")
	}
	for _, bad := range []Schedule{
		{Kind: "log", Final: 0.5, Steps: 3},
		{Kind: Linear, Initial: 0.6, Final: 0.5, Steps: 3},
		{Kind: Linear, Final: 1.2, Steps: 3},
		{Kind: Cubic, Final: 0.5},
		{Kind: Exponential, Final: 1, Steps: 3},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
