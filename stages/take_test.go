package stages

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/internal/sharedtest"
	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// A prune or retrain stage that is the last reader of its input changes
// it in place (StageContext.Take) instead of copying it: every metric and
// artifact digest is the same as in a run that keeps every model and so
// copies.
func TestTakenModelsGiveTheSameResults(t *testing.T) {
	src := `version: 1
params:
  model: {type: path, default: m}
  text: {type: path, default: t.txt}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  prune:
    uses: prune
    with: {model: base, method: wanda, sparsity: 0.5, calib: {file: "${{ params.text }}", samples: 4, seq_len: 32}}
  retrain:
    uses: retrain
    with: {model: prune, data: "${{ params.text }}", steps: 2, batch_size: 2, seq_len: 32, lr: 0.001}
  again:
    uses: prune
    with: {model: retrain, method: magnitude, sparsity: 0.6}
  final: {uses: evaluate, with: {model: again, text: "${{ params.text }}", seq_len: 32, limit: 2}}
`
	set := []string{"model=" + sharedtest.Path(t, "models/tiny-llama"), "text=" + sharedtest.Path(t, "data/shakespeare_train.txt")}
	runWith := func(keep bool) (map[string]*pipeline.StageRecord, string) {
		var log bytes.Buffer
		opts := runner.Options{Jobs: 1, RunDir: t.TempDir(), KeepArtifacts: keep,
			Logger: hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Debug})}
		rec, err := runner.Run(context.Background(), parseRecipe(t, t.TempDir(), src, set...), opts)
		if err != nil || rec.Status != pipeline.RunSucceeded {
			t.Fatalf("run: %v %s %s\n%s", err, rec.Status, rec.Error, log.String())
		}
		out := map[string]*pipeline.StageRecord{}
		rec.Walk(func(s *pipeline.StageRecord) { out[s.Path] = s })
		return out, log.String()
	}
	taken, log := runWith(false)
	copied, copiedLog := runWith(true)
	for _, want := range []string{"prune: pruning the input model in place", "retrain: training the input model in place", "again: pruning the input model in place"} {
		if !strings.Contains(log, want) {
			t.Errorf("the run did not log %q", want)
		}
	}
	if strings.Contains(copiedLog, "in place") {
		t.Error("a run that keeps every model changed one in place")
	}
	for path, a := range taken {
		b := copied[path]
		if !maps.Equal(a.Metrics, b.Metrics) {
			t.Errorf("%s: metrics %v taken, %v copied", path, a.Metrics, b.Metrics)
		}
		if !maps.Equal(a.Artifacts, b.Artifacts) {
			t.Errorf("%s: artifacts %v taken, %v copied", path, a.Artifacts, b.Artifacts)
		}
	}
	if len(taken) != 5 || len(taken["again"].Artifacts) != 1 {
		t.Fatalf("%d stages", len(taken))
	}
}
