package report

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"lopper/pipeline"
	"lopper/train"
)

// syntheticRecord is a hand-built run record of a gradual-pruning recipe,
// as the report stage called "report" sees it while it runs: load, a
// baseline, a loop of prune → retrain → evaluate that stopped after
// iteration 3 and kept iteration 2, a 2×2 sweep (method × sparsity) with
// one failed branch, a final evaluation and a save; a benchmark still
// running and a skipped gate. Names and values carry Markdown and HTML
// metacharacters to exercise escaping.
func syntheticRecord(t *testing.T) *pipeline.RunRecord {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	st := func(id, path, uses string, start, end float64, metrics pipeline.Metrics) *pipeline.StageRecord {
		return &pipeline.StageRecord{
			ID: id, Path: path, Uses: uses, Status: pipeline.StageSucceeded,
			Started: at(start), Ended: at(end), Seconds: end - start, Metrics: metrics,
		}
	}
	art := func(s *pipeline.StageRecord, name, kind, digest string) *pipeline.StageRecord {
		if s.Artifacts == nil {
			s.Artifacts = map[string]pipeline.ArtifactRecord{}
		}
		s.Artifacts[name] = pipeline.ArtifactRecord{Kind: kind, Digest: digest}
		return s
	}
	const baseAcc, basePPL = 0.62, 8.5
	// Iteration i prunes to sparsity 0.2·(i+1); accuracy falls and
	// perplexity rises with it; retraining loss falls over 4 steps.
	var iters []*pipeline.IterationRecord
	clock := 10.0
	for i := range 4 {
		sp := 0.2 * float64(i+1)
		acc := baseAcc - 0.005*float64(i*i)
		ppl := basePPL * (1 + 0.05*float64(i*i))
		prefix := fmt.Sprintf("gradual[%d]/", i)
		prune := st("prune", prefix+"prune", "prune", clock, clock+1, pipeline.Metrics{"sparsity": sp, "params": 1e6, "nonzero": 1e6 * (1 - sp)})
		retrain := st("retrain", prefix+"retrain", "retrain", clock+1, clock+3, pipeline.Metrics{"final_loss": 2.0 + 0.1*float64(i), "sparsity": sp})
		var curve []train.StepStats
		for s := 1; s <= 4; s++ {
			loss := 3.0 - 0.2*float64(s) + 0.1*float64(i)
			curve = append(curve, train.StepStats{Step: 10 * s, Loss: loss, LMLoss: loss, LR: 1e-4, GradNorm: 0.5, Tokens: 512})
		}
		retrain.Details = map[string]any{"curve": curve, "steps": 40, "mask": "prune"}
		ev := st("check", prefix+"check", "evaluate", clock+3, clock+4, pipeline.Metrics{
			"accuracy": acc, "perplexity": ppl, "acc_drop": baseAcc - acc, "ppl_ratio": ppl / basePPL, "tokens": 4096,
		})
		until := baseAcc-acc > 0.03 // max_acc_drop
		iters = append(iters, &pipeline.IterationRecord{Index: i, Status: pipeline.StageSucceeded, Until: &until,
			Stages: []*pipeline.StageRecord{prune, retrain, ev}})
		clock += 5
	}
	kept := 2
	gradual := st("gradual", "gradual", "loop", 10, clock, pipeline.Metrics{
		"accuracy": baseAcc - 0.02, "perplexity": basePPL * 1.2, "acc_drop": 0.02, "ppl_ratio": 1.2, "final_loss": 2.2, "sparsity": 0.6, "iterations": 4, "kept_iteration": 2,
	})
	gradual.Loop = &pipeline.LoopRecord{
		MaxIterations: 6, Until: "acc_drop > params.max_acc_drop", Keep: "last_passing", Iterations: iters, Kept: &kept,
		StopReason: "until became true after iteration 3: acc_drop > params.max_acc_drop",
	}
	art(gradual, "model", "model", "sha256:9999aaaabbbbccccdddd")

	// The sweep: method × sparsity; wanda at 0.7 failed.
	sweep := st("sweep", "sweep", "matrix", 40, 60, pipeline.Metrics{"branches": 4})
	sweep.Status, sweep.Error = pipeline.StageFailed, "1 of 4 branches failed; first: branch method=wanda,sparsity=0.7: stage eval failed"
	sweep.Matrix = &pipeline.MatrixRecord{Axes: []string{"method", "sparsity"}}
	quality := map[string]float64{"magnitude": 0.05, "wanda": 0.02}
	for i, b := range []struct {
		method string
		sp     float64
	}{{"magnitude", 0.5}, {"magnitude", 0.7}, {"wanda", 0.5}, {"wanda", 0.7}} {
		prefix := fmt.Sprintf("sweep[%d]/", i)
		loss := quality[b.method] * b.sp * 10
		ev := st("eval", prefix+"eval", "evaluate", 41, 42+float64(i), pipeline.Metrics{"accuracy": baseAcc - loss, "perplexity": basePPL * (1 + loss)})
		br := &pipeline.BranchRecord{Index: i, Label: fmt.Sprintf("method=%s,sparsity=%g", b.method, b.sp),
			Values: map[string]any{"method": b.method, "sparsity": b.sp}, Status: pipeline.StageSucceeded}
		if b.method == "wanda" && b.sp == 0.7 {
			ev.Status, ev.Metrics, ev.Error, br.Status = pipeline.StageFailed, nil, "out of memory\nwhile scoring", pipeline.StageFailed
		}
		br.Stages = []*pipeline.StageRecord{st("prune", prefix+"prune", "prune", 40, 41, pipeline.Metrics{"sparsity": b.sp}), ev}
		sweep.Matrix.Branches = append(sweep.Matrix.Branches, br)
	}

	final := st("final_eval", "final_eval", "evaluate", 61, 63, pipeline.Metrics{
		"accuracy": baseAcc - 0.02, "perplexity": basePPL * 1.2, "acc_drop": 0.02, "params": 1000000, "params_nonzero": 400000,
		"sparsity": 0.6, "tokens_per_sec": 5200.5, "bytes_on_disk": 4.2e6,
	})
	save := art(st("save", "save", "save", 63, 64, pipeline.Metrics{"bytes": 4.2e6}), "model_dir", "dir", "sha256:0123456789abcdef0123456789abcdef")
	gate := &pipeline.StageRecord{ID: "gate", Path: "gate", Uses: "assert", Status: pipeline.StageSkipped, Reason: "when is false: params.strict"}
	bench := &pipeline.StageRecord{ID: "bench", Path: "bench", Uses: "evaluate", Status: pipeline.StageRunning, Started: at(62)}
	report := &pipeline.StageRecord{ID: "report", Path: "report", Uses: "report", Status: pipeline.StageRunning, Started: at(64)}
	rec := &pipeline.RunRecord{
		Schema: pipeline.RecordSchema, Name: "gradual-wanda", Description: "Prune <b>gradually</b> | keep *the* best",
		Status: pipeline.RunRunning, Started: t0, RunDir: "/runs/20260301T120000Z-gradual-wanda",
		Recipe: pipeline.RecipeRecord{File: "recipes/gradual.yaml", Digest: "sha256:feedfacecafebeef0011223344556677", Baseline: "baseline", Text: "version: 1"},
		Params: []pipeline.ParamValue{
			{Name: "model", Type: pipeline.ParamPath, Value: "/models/tiny", Source: "default"},
			{Name: "max_acc_drop", Type: pipeline.ParamFloat, Value: 0.03, Source: "--set"},
			{Name: "method", Type: pipeline.ParamString, Value: "wanda|v2 `x`", Source: "default"},
			{Name: "steps", Type: pipeline.ParamInt, Value: 40, Source: "default"},
		},
		Lopper: "0.1.0-test", Go: "go1.26.8", Platform: "linux/amd64", Jobs: 2,
		Stages: []*pipeline.StageRecord{
			art(st("base", "base", "load", 0, 1.5, nil), "model", "model", "sha256:1111222233334444555566667777"),
			st("baseline", "baseline", "evaluate", 2, 9, pipeline.Metrics{
				"accuracy": baseAcc, "perplexity": basePPL, "params": 1000000, "params_nonzero": 1000000, "sparsity": 0,
				"tokens_per_sec": 5000, "bytes_on_disk": 4.2e6,
			}),
			gradual, sweep, final, save, gate, bench, report,
		},
	}
	return roundTrip(t, rec)
}

// roundTrip passes a record through its JSON form, as `lopper runs` and
// a later report would read it (details become plain JSON values).
func roundTrip(t *testing.T, rec *pipeline.RunRecord) *pipeline.RunRecord {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var out pipeline.RunRecord
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
