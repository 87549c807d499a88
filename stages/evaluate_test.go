package stages

import (
	"math"
	"strings"
	"testing"

	"lopper/eval"
	"lopper/internal/sharedtest"
	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// evaluate on tiny-llama with text, HellaSwag, size and speed, against a
// baseline evaluate of the dense model: the headline accuracy is acc_norm,
// the relative metrics follow their definitions, and a baseline that did
// not measure what a ratio needs is an error naming it.
func TestEvaluateMetrics(t *testing.T) {
	set := []string{
		"model=" + sharedtest.Path(t, "models/tiny-llama"), "eval=" + sharedtest.Path(t, "data/shakespeare_eval.txt"),
		"hs=" + sharedtest.Path(t, "data/hellaswag/hellaswag_val_200.txt"),
	}
	src := `version: 1
name: eval-test
params:
  model: {type: path, default: m}
  eval: {type: path, default: e}
  hs: {type: path, default: h}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  dense:
    uses: evaluate
    with: {model: base, text: "${{ params.eval }}", hellaswag: "${{ params.hs }}", limit: 8, seq_len: 64, size: true, speed: {batch: 1, seq_len: 32, warmup: 1, repeats: 3}}
  pruned: {uses: prune, with: {model: base, sparsity: 0.5}}
  check:
    uses: evaluate
    with: {model: pruned, text: "${{ params.eval }}", hellaswag: "${{ params.hs }}", limit: 8, seq_len: 64, size: true, speed: {batch: 1, seq_len: 32, warmup: 1, repeats: 3}, baseline: dense}
`
	rec := run(t, parseRecipe(t, t.TempDir(), src, set...))
	d, c := stage(t, rec, "dense").Metrics, stage(t, rec, "check").Metrics
	for _, m := range []pipeline.Metrics{d, c} {
		if m["accuracy"] != m["acc_norm"] || m["tasks"] != 8 || m["tokens"] != 8*64 {
			t.Errorf("accuracy %g, acc_norm %g, tasks %g, tokens %g", m["accuracy"], m["acc_norm"], m["tasks"], m["tokens"])
		}
		if !(m["token_accuracy"] > 0.3) || !(m["tokens_per_sec"] > 0) || !(m["perplexity"] > 1) {
			t.Errorf("token accuracy %g, tokens/s %g, perplexity %g", m["token_accuracy"], m["tokens_per_sec"], m["perplexity"])
		}
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	near("acc_drop", c["acc_drop"], d["accuracy"]-c["accuracy"])
	near("ppl_ratio", c["ppl_ratio"], c["perplexity"]/d["perplexity"])
	near("size_ratio", c["size_ratio"], c["params_nonzero"]/d["params_nonzero"])
	near("compression", c["compression"], d["params_nonzero"]/c["params_nonzero"])
	near("speedup", c["speedup"], c["tokens_per_sec"]/d["tokens_per_sec"])
	if d["sparsity"] != 0 || math.Abs(c["sparsity"]-0.5) > 1e-9 || !(c["ppl_ratio"] > 1) {
		t.Errorf("sparsity %g → %g, ppl_ratio %g", d["sparsity"], c["sparsity"], c["ppl_ratio"])
	}
	det, ok := stage(t, rec, "check").Result().Details.(evaluateDetails)
	if !ok || det.Text == nil || det.Choices == nil || det.Size == nil || det.Speed == nil || det.Text.Protocol.SeqLen != 64 {
		t.Errorf("details %+v", det)
	}

	bad := strings.Replace(src, "size: true, speed: {batch: 1, seq_len: 32, warmup: 1, repeats: 3}}\n  pruned", "speed: {batch: 1, seq_len: 32, warmup: 1, repeats: 3}}\n  pruned", 1)
	r := parseRecipe(t, t.TempDir(), bad, set...)
	failed, err := runner.Run(t.Context(), r, runner.Options{Jobs: 2, RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s := stage(t, failed, "check"); s.Status != pipeline.StageFailed || !strings.Contains(s.Error, "baseline dense has no "+eval.MetricNonZero+" metric") {
		t.Errorf("baseline without size: %s %q", s.Status, s.Error)
	}
}

// acc_drop has one rule everywhere: baseline.accuracy − accuracy, where
// accuracy is the headline (acc_norm for multiple choice, next-token
// accuracy for a text). The evaluate stage's own value (baseline in its
// with), the engine's (a top-level baseline) and eval.Relative agree bit
// for bit, for text, multiple choice and both in one stage.
func TestAccDropOneRule(t *testing.T) {
	set := []string{
		"model=" + sharedtest.Path(t, "models/tiny-llama"), "eval=" + sharedtest.Path(t, "data/shakespeare_eval.txt"),
		"hs=" + sharedtest.Path(t, "data/hellaswag/hellaswag_val_200.txt"),
	}
	for _, tc := range []struct {
		name, with, headline string
	}{
		{"text", `text: "${{ params.eval }}", limit: 8, seq_len: 64`, "token_accuracy"},
		{"choice", `hellaswag: "${{ params.hs }}", limit: 40`, "acc_norm"},
		{"both", `text: "${{ params.eval }}", hellaswag: "${{ params.hs }}", limit: 40, seq_len: 64`, "acc_norm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := func(top string) string {
				return `version: 1
name: acc-drop
` + top + `params:
  model: {type: path, default: m}
  eval: {type: path, default: e}
  hs: {type: path, default: h}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  dense: {uses: evaluate, with: {model: base, ` + tc.with + `}}
  pruned: {uses: prune, with: {model: base, sparsity: 0.7}}
  check: {uses: evaluate, with: {model: pruned, baseline: dense, ` + tc.with + `}}
`
			}
			own := run(t, parseRecipe(t, t.TempDir(), src(""), set...))
			engine := run(t, parseRecipe(t, t.TempDir(), src("baseline: dense\n"), set...))
			d, c := stage(t, own, "dense").Metrics, stage(t, own, "check").Metrics
			want := d[tc.headline] - c[tc.headline]
			if want == 0 {
				t.Fatalf("pruning left %s at %g: the test cannot tell the rules apart", tc.headline, d[tc.headline])
			}
			if tc.headline == "acc_norm" && d["acc"]-c["acc"] == want {
				t.Fatalf("acc and acc_norm drop alike (%g): the test cannot tell the rules apart", want)
			}
			for name, got := range map[string]float64{
				"evaluate stage": c["acc_drop"],
				"engine":         stage(t, engine, "check").Metrics["acc_drop"],
				"eval.Relative":  eval.Relative(eval.Metrics(d), eval.Metrics(c))[eval.MetricAccDrop],
			} {
				if got != want {
					t.Errorf("%s: acc_drop %v, want baseline %s − %s = %v", name, got, tc.headline, tc.headline, want)
				}
			}
		})
	}
}
