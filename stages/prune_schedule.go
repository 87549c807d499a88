package stages

import (
	"fmt"

	"lopper/pipeline"
	"lopper/pruning"
)

// ScheduleConfig is prune's gradual schedule:
//
//	schedule: {kind: gradual, from: 0.2, to: 0.8, steps: 4, curve: cubic}
//
// read at the enclosing loop's iteration i: iteration i prunes to
// pruning.Schedule{Initial: from, Final: to, Steps: steps − 1}.At(i), so
// iteration 0 prunes to `from`, iteration steps−1 (and every later one) to
// `to`, and the curve — linear, cubic (Zhu & Gupta's AGP, the default) or
// exponential — shapes the steps between (see pruning.ScheduleKind).
type ScheduleConfig struct {
	Kind  string  `yaml:"kind"`
	From  float64 `yaml:"from"`
	To    float64 `yaml:"to"`
	Steps int     `yaml:"steps"`
	Curve string  `yaml:"curve"`
}

// schedule is the pruning schedule the config describes.
func (s *ScheduleConfig) schedule() pruning.Schedule {
	k := pruning.ScheduleKind(s.Curve)
	if k == "" {
		k = pruning.Cubic
	}
	if s.Steps == 1 {
		k = pruning.OneShot // one iteration: straight to `to`
	}
	return pruning.Schedule{Kind: k, Initial: s.From, Final: s.To, Steps: s.Steps - 1}
}

func (s *ScheduleConfig) check(c *pipeline.Checker) {
	if s.Kind != "gradual" {
		c.Errorf("schedule.kind", "want gradual, got %q", s.Kind)
	}
	switch s.Curve {
	case "", "linear", "cubic", "exponential":
	default:
		c.Errorf("schedule.curve", "%q is not a curve; want linear, cubic or exponential", s.Curve)
		return
	}
	if s.Steps < 1 {
		c.Errorf("schedule.steps", "required: the number of pruning iterations, at least 1, got %d", s.Steps)
		return
	}
	if err := pruning.CheckSparsity(s.To); err != nil {
		c.Errorf("schedule.to", "%v", err)
	}
	if err := s.schedule().Validate(); err != nil {
		c.Errorf("schedule", "%v", err)
	}
}

// at returns the sparsity for loop iteration i (0-based).
func (s *ScheduleConfig) at(i int) (float64, error) {
	if i < 0 {
		return 0, fmt.Errorf("schedule: a gradual schedule is read at the enclosing loop's iteration; this prune stage is not inside a loop")
	}
	return s.schedule().At(i), nil
}
