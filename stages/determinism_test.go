package stages

import (
	"context"
	"maps"
	"path/filepath"
	"runtime"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// A prune + retrain + evaluate recipe gives bit-identical artifacts and
// identical metrics with --jobs 1 on one core and --jobs 3 on three.
func TestRunDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gradual recipe twice")
	}
	set := sharedSet(t, "tiny-gpt2", "train", "max_acc_drop=1", "from=0.3", "to=0.6", "iterations=2",
		"retrain_steps=4", "batch_size=4", "lr=0.001")
	file := filepath.Join(repoRoot(t), "recipes", "gradual-magnitude.yaml")
	runWith := func(jobs, procs int) map[string]*pipeline.StageRecord {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		rec, err := runner.Run(context.Background(), loadRecipe(t, file, set...), runner.Options{Jobs: jobs, RunDir: t.TempDir()})
		if err != nil || rec.Status != pipeline.RunSucceeded {
			t.Fatalf("run: %v %s %s", err, rec.Status, rec.Error)
		}
		out := map[string]*pipeline.StageRecord{}
		rec.Walk(func(s *pipeline.StageRecord) { out[s.Path] = s })
		return out
	}
	a, b := runWith(1, 1), runWith(3, 3)
	if len(a) != len(b) || len(a) < 8 {
		t.Fatalf("%d and %d stage records", len(a), len(b))
	}
	artifacts := 0
	for path, sa := range a {
		sb := b[path]
		if sb == nil {
			t.Errorf("%s missing from the second run", path)
			continue
		}
		if path == "report" {
			continue // its metrics are the sizes of files that hold times
		}
		if !maps.Equal(sa.Metrics, sb.Metrics) {
			t.Errorf("%s: metrics %v and %v", path, sa.Metrics, sb.Metrics)
		}
		for name, art := range sa.Artifacts {
			artifacts++
			if sb.Artifacts[name] != art {
				t.Errorf("%s: artifact %s %s and %s", path, name, art.Digest, sb.Artifacts[name].Digest)
			}
		}
	}
	if artifacts < 6 {
		t.Errorf("only %d artifacts compared", artifacts)
	}
}
