package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// lockedBuffer is an io.Writer safe for the run's concurrent loggers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// The prune and score stages report pruning's progress through the stage
// context: per block for block-by-block Wanda, per tensor for SparseGPT
// and for scoring, per calibration window and layer for structures; each
// stage's counts end at their total.
func TestPruneStagesReportProgress(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	r := parseRecipe(t, dir, fmt.Sprintf(`version: 1
name: progress
x-calib: &calib {file: %q, seq_len: 32, samples: 4, batch: 2}
stages:
  base: {uses: load, with: {path: %q}}
  wanda: {uses: prune, with: {model: base, method: wanda, sparsity: 0.5, calib: *calib}}
  sgpt: {uses: prune, with: {model: base, method: sparsegpt, sparsity: 0.5, calib: *calib}}
  neurons: {uses: prune, with: {model: base, pattern: neurons, method: activation, sparsity: 0.5, calib: *calib}}
  scored: {uses: score, with: {model: base, criterion: taylor, calib: *calib}}
`, filepath.Join(root, "quickstart", "train.txt"), filepath.Join(root, "quickstart", "model")))
	var logs lockedBuffer
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, JSONFormat: true, Output: &logs})
	rec, err := runner.Run(context.Background(), r, runner.Options{Jobs: 2, RunDir: filepath.Join(dir, "run"), Version: "test", Logger: log})
	if err != nil || rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run: %v %s %s", err, rec.Status, rec.Error)
	}
	seen := map[string][]string{} // stage → "unit done/total", in order
	for _, line := range strings.Split(strings.TrimSpace(logs.b.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e["@message"] != "progress" {
			continue
		}
		mod := fmt.Sprint(e["@module"])
		id := mod[strings.LastIndex(mod, ".")+1:]
		seen[id] = append(seen[id], fmt.Sprintf("%v %v/%v", e["unit"], e["done"], e["total"]))
	}
	want := map[string]string{
		"wanda":   "blocks 0/2, blocks 1/2, blocks 2/2",
		"sgpt":    "tensors pruned 0/14, tensors pruned 1/14",
		"neurons": "calibration windows 0/4, calibration windows 2/4, calibration windows 4/4, layers scored 0/2, layers scored 1/2, layers scored 2/2",
		"scored":  "calibration windows 0/4, calibration windows 2/4, calibration windows 4/4, tensors scored 0/14",
	}
	for id, w := range want {
		got := strings.Join(seen[id], ", ")
		if !strings.HasPrefix(got, w) {
			t.Errorf("%s: progress %q, want it to start %q", id, got, w)
		}
		if len(seen[id]) == 0 {
			continue
		}
		last := seen[id][len(seen[id])-1]
		var done, total int
		if _, err := fmt.Sscanf(last[strings.LastIndex(last, " ")+1:], "%d/%d", &done, &total); err != nil || done != total {
			t.Errorf("%s: last progress %q does not end at the total", id, last)
		}
	}
}
