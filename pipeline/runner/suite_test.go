package runner_test

import (
	"testing"

	"lopper/pipeline/exectest"
)

// The local executor passes the behaviour suite of executors.
func TestBehaviour(t *testing.T) { exectest.Run(t, exectest.Local{}) }
