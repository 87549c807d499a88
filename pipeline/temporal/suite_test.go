package temporal

import (
	"testing"

	"lopper/pipeline/exectest"
)

// The Temporal executor passes the behaviour suite of executors, the same
// the local one passes: the two cannot disagree on what a recipe means.
func TestBehaviour(t *testing.T) { exectest.Run(t, &testExecutor{t: t}) }

// So it does with every loop iteration and matrix branch in a child
// workflow of its own.
func TestBehaviourWithChildren(t *testing.T) {
	exectest.Run(t, &testExecutor{t: t, plan: forceChildren})
}

// And with every workflow continuing as new after each task it completes
// (children or not).
func TestBehaviourContinuingAsNew(t *testing.T) {
	for _, children := range []int{0, -1} {
		exectest.Run(t, &testExecutor{t: t, plan: func(p *Plan) { p.ChildEvents, p.HistoryEvents = children, 1 }})
	}
}
