package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/eval"
	"lopper/internal/memgc"
	"lopper/model"
	"lopper/pruning"
)

// loggedEstimate returns the bytes of the "memory estimate" line of a JSON
// log, or -1.
func loggedEstimate(log string) int64 {
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg   string `json:"@message"`
			Bytes int64  `json:"bytes"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "memory estimate" {
			return rec.Bytes
		}
	}
	return -1
}

// lopper prune and lopper eval log their memory estimate (debug) before
// loading the model: the packages' estimates for the flags, the model
// pruned in place (opened lazily: Wanda streams block by block), with the
// collector's headroom and the program.
func TestPruneAndEvalLogMemoryEstimates(t *testing.T) {
	ctx := context.Background()
	dir, text := repoPath("quickstart", "model"), repoPath("quickstart", "train.txt")
	c, err := model.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	weights, _ := model.WeightBytes(&c)
	gc := memgc.For(weights)

	code, _, stderr := lopper(ctx, "prune", "--log-level", "debug", "--log-format", "json", "--model", dir,
		"--out", filepath.Join(t.TempDir(), "p"), "--method", "wanda", "--calib", text, "--calib-samples", "3", "--calib-seq-len", "32")
	if code != exitOK {
		t.Fatalf("prune: exit %d: %s", code, stderr)
	}
	want, err := pruning.EstimateMemory(&c, pruning.MemoryOptions{Options: pruning.Options{Method: pruning.Wanda, Sparsity: 0.5},
		CalibSamples: 3, CalibSeqLen: 32, InPlace: true, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := loggedEstimate(stderr); got != want.WithRuntime(gc).Total() {
		t.Errorf("prune logged %d, want %v", got, want.WithRuntime(gc))
	}

	code, _, stderr = lopper(ctx, "eval", "--log-level", "debug", "--log-format", "json", "--model", dir, "--text", text, "--seq-len", "32", "--limit", "3")
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	fi, err := os.Stat(text)
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	we, err := eval.EstimateTextMemory(&c, eval.TextOptions{SeqLen: 32, Limit: 3}, size)
	if err != nil {
		t.Fatal(err)
	}
	if got := loggedEstimate(stderr); got != we.WithRuntime(gc).Total() {
		t.Errorf("eval logged %d, want %v", got, we.WithRuntime(gc))
	}
}
