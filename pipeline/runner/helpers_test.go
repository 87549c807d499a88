package runner_test

import (
	"context"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

var (
	registry    = exectest.Registry
	writeRecipe = exectest.WriteRecipe
	mustLoad    = exectest.Load
	testLogger  = exectest.Logger
	stage       = exectest.Stage
	readRecord  = exectest.ReadRecord
)

// runRecipe loads and runs src with the local executor.
func runRecipe(t *testing.T, ctx context.Context, kit *pipelinetest.Kit, src string, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	return exectest.RunRecipe(t, exectest.Local{}, ctx, kit, src, opts)
}
