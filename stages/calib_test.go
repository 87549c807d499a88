package stages

import (
	"strings"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// Without samples, consecutive calibration windows are at most the default
// 32: tiny-llama's calib.txt holds 16 windows of 128 tokens, and the score
// stage uses those 16. An explicit samples that does not fit stays an
// error.
func TestCalibDefaultSamplesFit(t *testing.T) {
	set := []string{"model=" + sharedtest.ModelDir(t, "tiny-llama"), "calib=" + sharedtest.Path(t, "models", "tiny-llama", "calib.txt")}
	src := func(samples string) string {
		return `version: 1
name: calib-fit
params:
  model: {type: path, default: m}
  calib: {type: path, default: c}
stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  sc: {uses: score, with: {model: base, criterion: wanda, calib: {file: "${{ params.calib }}", sampling: consecutive, seq_len: 128` + samples + `}}}
`
	}
	rec := run(t, parseRecipe(t, t.TempDir(), src(""), set...))
	if n := stage(t, rec, "sc").Metrics["calib_samples"]; n != 16 {
		t.Errorf("calib_samples %g, want the 16 windows calib.txt holds", n)
	}
	r := parseRecipe(t, t.TempDir(), src(", samples: 32"), set...)
	failed, err := runner.Run(t.Context(), r, runner.Options{Jobs: 1, RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s := stage(t, failed, "sc"); s.Status != pipeline.StageFailed || !strings.Contains(s.Error, "need 4096 tokens") {
		t.Errorf("32 explicit windows from 2048 tokens: %s %q", s.Status, s.Error)
	}
}
