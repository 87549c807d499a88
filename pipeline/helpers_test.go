package pipeline_test

import (
	"context"
	"strings"
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
)

// loadErr loads a recipe that must be invalid and returns the error text
// with the temporary directory replaced by "recipe.yaml".
func loadErr(t *testing.T, src string, set ...string) string {
	t.Helper()
	f := writeRecipe(t, src)
	_, err := pipeline.Load(f, pipeline.LoadOptions{Registry: registry(pipelinetest.New()), Set: set})
	if err == nil {
		t.Fatalf("recipe loaded, want an error:\n%s", src)
	}
	return strings.ReplaceAll(err.Error(), f, "recipe.yaml")
}

// runRecipe loads and runs src with the local executor.
func runRecipe(t *testing.T, ctx context.Context, kit *pipelinetest.Kit, src string, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	return exectest.RunRecipe(t, exectest.Local{}, ctx, kit, src, opts)
}
