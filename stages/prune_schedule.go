package stages

import (
	"fmt"
	"math"

	"lopper/pipeline"
)

// ScheduleConfig is prune's gradual schedule:
//
//	schedule: {kind: gradual, from: 0.2, to: 0.8, steps: 4, curve: cubic}
//
// read at the enclosing loop's iteration i: with p = i/(steps−1), clamped to
// 1 from iteration steps−1 on (p = 1 when steps is 1),
//
//	linear:      from + (to − from)·p
//	cubic:       to + (from − to)·(1 − p)³          (Zhu & Gupta's AGP)
//	exponential: 1 − (1 − from)·((1 − to)/(1 − from))^p
//	             (the kept fraction shrinks by the same factor every step)
//
// so iteration 0 prunes to `from` and iteration steps−1 to `to`.
type ScheduleConfig struct {
	Kind  string  `yaml:"kind"`
	From  float64 `yaml:"from"`
	To    float64 `yaml:"to"`
	Steps int     `yaml:"steps"`
	Curve string  `yaml:"curve"`
}

func (s *ScheduleConfig) check(c *pipeline.Checker) {
	if s.Kind != "gradual" {
		c.Errorf("schedule.kind", "want gradual, got %q", s.Kind)
	}
	if !(s.From >= 0 && s.From < 1) {
		c.Errorf("schedule.from", "must be in [0, 1), got %g", s.From)
	}
	if !(s.To >= s.From && s.To < 1) {
		c.Errorf("schedule.to", "must be in [from, 1), got %g", s.To)
	}
	if s.Steps < 1 {
		c.Errorf("schedule.steps", "required: at least 1, got %d", s.Steps)
	}
	switch s.Curve {
	case "", "linear", "cubic", "exponential":
	default:
		c.Errorf("schedule.curve", "%q is not a curve; want linear, cubic or exponential", s.Curve)
	}
}

// at returns the sparsity for loop iteration i (0-based).
func (s *ScheduleConfig) at(i int) (float64, error) {
	if i < 0 {
		return 0, fmt.Errorf("schedule: a gradual schedule is read at the enclosing loop's iteration; this prune stage is not inside a loop")
	}
	p := 1.0
	if s.Steps > 1 {
		p = math.Min(1, float64(i)/float64(s.Steps-1))
	}
	switch s.Curve {
	case "cubic":
		return s.To + (s.From-s.To)*math.Pow(1-p, 3), nil
	case "exponential":
		return 1 - (1-s.From)*math.Pow((1-s.To)/(1-s.From), p), nil
	}
	return s.From + (s.To-s.From)*p, nil
}
