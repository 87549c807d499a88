package exectest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// Helpers for tests that run recipes, here and in the executors' own tests.

// Registry returns a registry with the test kinds of kit.
func Registry(kit *pipelinetest.Kit) *pipeline.Registry {
	reg := pipeline.NewRegistry()
	kit.Register(reg)
	return reg
}

// WriteRecipe writes src as recipe.yaml in a fresh directory.
func WriteRecipe(t *testing.T, src string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "recipe.yaml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Load loads a recipe that must be valid, with kit's kinds.
func Load(t *testing.T, kit *pipelinetest.Kit, src string, set ...string) *pipeline.Recipe {
	t.Helper()
	r, err := pipeline.Load(WriteRecipe(t, src), pipeline.LoadOptions{Registry: Registry(kit), Set: set})
	if err != nil {
		t.Fatalf("recipe does not load:\n%v", err)
	}
	return r
}

// Logger logs to the test's output.
func Logger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: tWriter{t}, Level: hclog.Debug})
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// RunRecipe loads src with kit's kinds and runs it with ex; without a run
// or out directory in opts it runs in a temporary one, without a logger it
// logs to the test.
func RunRecipe(t *testing.T, ex Executor, ctx context.Context, kit *pipelinetest.Kit, src string, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	r := Load(t, kit, src)
	if opts.OutDir == "" && opts.RunDir == "" {
		opts.OutDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = Logger(t)
	}
	rec, err := ex.Run(ctx, r, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rec
}

// Stage finds a stage record by instance path ("gradual[1]/step").
func Stage(t *testing.T, rec *pipeline.RunRecord, path string) *pipeline.StageRecord {
	t.Helper()
	var found *pipeline.StageRecord
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Path == path {
			found = s
		}
	})
	if found == nil {
		var paths []string
		rec.Walk(func(s *pipeline.StageRecord) { paths = append(paths, s.Path) })
		t.Fatalf("no stage %s in the record; have %v", path, paths)
	}
	return found
}

// ReadRecord reads run.json of a finished run from disk.
func ReadRecord(t *testing.T, rec *pipeline.RunRecord) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rec.RunDir, pipeline.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("run.json is not JSON: %v", err)
	}
	return m
}

// Aliases inside the suite.
var (
	registry    = Registry
	writeRecipe = WriteRecipe
	testLogger  = Logger
	runRecipe   = RunRecipe
	stage       = Stage
	readRecord  = ReadRecord
)
