package temporal

import (
	"testing"

	"lopper/pipeline/exectest"
)

// The Temporal executor passes the behaviour suite of executors, the same
// the local one passes: the two cannot disagree on what a recipe means.
func TestBehaviour(t *testing.T) { exectest.Run(t, &testExecutor{t: t}) }
