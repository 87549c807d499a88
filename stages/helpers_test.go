package stages

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// repoRoot is the directory holding go.mod, found upwards from the test's
// working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

func newRegistry() *pipeline.Registry {
	reg := pipeline.NewRegistry()
	Register(reg)
	return reg
}

// loadRecipe loads a recipe file with param overrides.
func loadRecipe(t testing.TB, file string, set ...string) *pipeline.Recipe {
	t.Helper()
	r, err := pipeline.Load(file, pipeline.LoadOptions{Registry: newRegistry(), Set: set})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return r
}

// parseRecipe loads a recipe given as text, written into dir.
func parseRecipe(t testing.TB, dir, src string, set ...string) *pipeline.Recipe {
	t.Helper()
	file := filepath.Join(dir, "recipe.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadRecipe(t, file, set...)
}

// run runs a recipe into a fresh run directory and fails the test unless
// it succeeded. The record keeps every stage's artifacts (KeepArtifacts),
// for the tests that inspect models.
func run(t testing.TB, r *pipeline.Recipe) *pipeline.RunRecord {
	t.Helper()
	rec, err := runner.Run(context.Background(), r, runner.Options{Jobs: 2, RunDir: t.TempDir(), Version: "test", KeepArtifacts: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != pipeline.RunSucceeded {
		rec.Walk(func(s *pipeline.StageRecord) {
			if s.Error != "" {
				t.Errorf("stage %s: %s", s.Path, s.Error)
			}
		})
		t.Fatalf("run %s: %s", rec.Status, rec.Error)
	}
	return rec
}

// stage returns the record at path ("base", "gradual[1]/prune").
func stage(t testing.TB, rec *pipeline.RunRecord, path string) *pipeline.StageRecord {
	t.Helper()
	var found *pipeline.StageRecord
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Path == path {
			found = s
		}
	})
	if found == nil {
		t.Fatalf("no stage %s in the run record", path)
	}
	return found
}

// modelOf returns the model artifact a stage produced.
func modelOf(t testing.TB, s *pipeline.StageRecord) *ModelArtifact {
	t.Helper()
	res := s.Result()
	if res == nil {
		t.Fatalf("stage %s has no result", s.Path)
	}
	a, ok := res.Artifacts[ArtifactModel].(*ModelArtifact)
	if !ok {
		t.Fatalf("stage %s has no model artifact", s.Path)
	}
	return a
}
