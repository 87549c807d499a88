package pruning

import (
	"fmt"
	"math"
)

// ScheduleKind is how sparsity grows over the steps of gradual pruning.
type ScheduleKind string

const (
	// OneShot prunes to the final sparsity at step 0.
	OneShot ScheduleKind = "one-shot"
	// Linear: s_t = s_i + (s_f − s_i)·t/n.
	Linear ScheduleKind = "linear"
	// Cubic is Zhu & Gupta's automated gradual pruning ("To prune, or not
	// to prune", 2017): s_t = s_f + (s_i − s_f)(1 − t/n)³, pruning fast
	// early and slowly at the end.
	Cubic ScheduleKind = "cubic"
	// Exponential removes the same fraction of the surviving weights at
	// every step: the density 1 − s decays geometrically,
	// 1 − s_t = (1 − s_i)·((1 − s_f)/(1 − s_i))^(t/n).
	Exponential ScheduleKind = "exponential"
)

// Schedule maps a pruning step t = 0..Steps to a target sparsity, from
// Initial at t = 0 to Final at t = Steps (one-shot: Final throughout). It
// is a pure function of the step; the loop that steps it lives in the
// pipeline.
type Schedule struct {
	Kind    ScheduleKind `json:"kind"`
	Initial float64      `json:"initial"`
	Final   float64      `json:"final"`
	Steps   int          `json:"steps"`
}

// Validate checks the schedule: a known kind, 0 ≤ Initial ≤ Final ≤ 1
// (pruning never revives weights), at least one step for gradual kinds,
// and Final < 1 for the exponential kind (a density of 0 has no geometric
// path).
func (s Schedule) Validate() error {
	switch s.Kind {
	case OneShot, Linear, Cubic, Exponential:
	default:
		return fmt.Errorf("unknown schedule %q (want one-shot, linear, cubic or exponential)", s.Kind)
	}
	if !(s.Initial >= 0 && s.Initial <= s.Final && s.Final <= 1) {
		return fmt.Errorf("schedule needs 0 ≤ initial ≤ final ≤ 1, got initial %g and final %g", s.Initial, s.Final)
	}
	if s.Kind != OneShot && s.Steps < 1 {
		return fmt.Errorf("a %s schedule needs at least one step, got %d", s.Kind, s.Steps)
	}
	if s.Kind == Exponential && s.Final >= 1 {
		return fmt.Errorf("an exponential schedule cannot reach sparsity 1 (its density decays geometrically)")
	}
	return nil
}

// At returns the target sparsity at step t (clamped to [0, Steps]) of a
// valid schedule.
func (s Schedule) At(t int) float64 {
	if s.Kind == OneShot {
		return s.Final
	}
	t = min(max(t, 0), s.Steps)
	switch t { // the endpoints exactly, whatever the formulas round to
	case 0:
		return s.Initial
	case s.Steps:
		return s.Final
	}
	x := float64(t) / float64(s.Steps)
	switch s.Kind {
	case Linear:
		return s.Initial + (s.Final-s.Initial)*x
	case Cubic:
		r := 1 - x
		return s.Final + (s.Initial-s.Final)*r*r*r
	case Exponential:
		di, df := 1-s.Initial, 1-s.Final
		return 1 - di*math.Pow(df/di, x)
	}
	return s.Final
}
