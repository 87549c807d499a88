package stages

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
)

// Each kind's checks report bad configs at load time, at the field's
// FILE:LINE:COL, all in one pass.
func TestConfigProblems(t *testing.T) {
	src := `version: 1
name: bad
stages:
  base: {uses: load, with: {path: m, dtype: fp8}}
  p1: {uses: prune, with: {model: base, method: wanda, sparsity: 0.5}}
  p2: {uses: prune, with: {model: base, pattern: "2:4", schedule: {kind: gradual, from: 0.1, to: 0.5, steps: 3}}}
  p3: {uses: prune, with: {model: base, method: l2, sparsity: 0.5}}
  p4: {uses: prune, with: {model: base, pattern: heads, method: l2}}
  p5: {uses: prune, with: {model: base, sparsity: 1.5, targets: ["(unclosed"]}}
  r1: {uses: retrain, with: {model: base, data: t.txt, steps: 0, schedule: cosin, betas: [0.9]}}
  r2: {uses: retrain, with: {model: base, data: t.txt, steps: 5, distill: {alpha: 2}, trainable: "(1"}}
  e1: {uses: evaluate, with: {model: base}}
  e2: {uses: evaluate, with: {model: base, hellaswag: a.txt, choices: b.jsonl, sample: true}}
  s1: {uses: save, with: {model: base, uniform: round}}
  sc: {uses: score, with: {model: base, criterion: sparsegpt}}
  sc2: {uses: score, with: {model: base, criterion: wanda}}
  p6: {uses: prune, with: {model: base, pattern: layers, method: taylor, count: 1}}
  p7: {uses: prune, with: {model: base, pattern: layers, method: l1, count: 1}}
`
	want := []wantProblem{
		{4, `dtype: unsupported dtype "fp8"`},
		{5, "calib: required: method wanda needs calibration data"},
		{6, "schedule: gradual schedules raise unstructured sparsity; pattern 2:4 does not take one"},
		{7, `method: "l2" does not prune pattern unstructured`},
		{8, "sparsity: required: how much to prune"},
		{9, "sparsity: must be in [0, 1), got 1.5"},
		{9, "targets.0: error parsing regexp"},
		{10, "steps: required: at least 1 optimizer step"},
		{10, `schedule: "cosin" is not a schedule`},
		{10, "betas: want two numbers in [0, 1)"},
		{11, "distill: distillation needs a teacher"},
		{11, "distill.alpha: must be in [0, 1], got 2"},
		{11, "trainable: error parsing regexp"},
		{12, "nothing to evaluate"},
		{13, "choices: give hellaswag or choices, not both"},
		{13, "sample: sampling draws limit tasks: set limit"},
		{14, "path: required"},
		{14, `uniform: "round" is not a policy; want refuse or keep`},
		{15, "criterion: sparsegpt has no separate score step"},
		{16, "calib: required: wanda scores need calibration data"},
		{17, "calib: required: method taylor needs calibration data"},
		{18, `method: "l1" does not prune pattern layers; want one of block_influence, taylor, random`},
	}
	checkProblems(t, loadInvalid(t, filepath.Join(t.TempDir(), "bad.yaml"), src), want)
}

// wantProblem is a config problem expected at a line of a recipe.
type wantProblem struct {
	line int
	msg  string
}

// checkProblems fails the test for each wanted problem that ve lacks (at
// its line, with a column), and then lists ve's problems.
func checkProblems(t *testing.T, ve *pipeline.ValidationError, want []wantProblem) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, p := range ve.Problems {
			if p.Pos.Line == w.line && p.Pos.Col > 0 && strings.Contains(p.Msg, w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at line %d saying %q", w.line, w.msg)
		}
	}
	if t.Failed() {
		for _, p := range ve.Problems {
			fmt.Println(p.Error())
		}
	}
}

// A gradual schedule gives `from` at iteration 0, `to` from iteration
// steps−1 on, and its curve's values between; outside a loop it is an
// error.
func TestScheduleAt(t *testing.T) {
	s := ScheduleConfig{Kind: "gradual", From: 0.2, To: 0.8, Steps: 5}
	for _, tc := range []struct {
		curve string
		i     int
		want  float64
	}{
		{"linear", 0, 0.2}, {"linear", 2, 0.5}, {"linear", 4, 0.8}, {"linear", 9, 0.8},
		{"cubic", 0, 0.2}, {"cubic", 1, 0.8 - 0.6*0.421875}, {"cubic", 4, 0.8},
		{"exponential", 0, 0.2}, {"exponential", 2, 1 - 0.8*0.5}, {"exponential", 4, 0.8},
	} {
		s.Curve = tc.curve
		got, err := s.at(tc.i)
		if err != nil || abs(got-tc.want) > 1e-12 {
			t.Errorf("%s at %d = %g (%v), want %g", tc.curve, tc.i, got, err, tc.want)
		}
	}
	one := ScheduleConfig{Kind: "gradual", From: 0.2, To: 0.6, Steps: 1}
	if got, _ := one.at(0); got != 0.6 {
		t.Errorf("one step: %g, want to", got)
	}
	if _, err := s.at(-1); err == nil || !strings.Contains(err.Error(), "not inside a loop") {
		t.Errorf("outside a loop: %v", err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// A bad lr is reported once, at lr: min_lr, which the recipe does not set,
// is not blamed for being above it.
func TestRetrainBadLRIsTheRootCause(t *testing.T) {
	src := `version: 1
params:
  lr: 0.001
stages:
  base: {uses: load, with: {path: m}}
  r: {uses: retrain, with: {model: base, data: t.txt, steps: 5, lr: "${{ params.lr }}"}}
  r2: {uses: retrain, with: {model: base, data: t.txt, steps: 5, lr: -1, min_lr: 0.5}}
`
	ve := loadInvalid(t, filepath.Join(t.TempDir(), "lr.yaml"), src, "lr=-0.01")
	wantProblems(t, ve, "", []string{
		"6:69: stage r: lr: must be positive, got -0.01",
		"7:70: stage r2: lr: must be positive, got -1",
	})
}

// loadInvalid writes src to file and loads it with --set values; it must
// be invalid.
func loadInvalid(t *testing.T, file, src string, set ...string) *pipeline.ValidationError {
	t.Helper()
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.Load(file, pipeline.LoadOptions{Registry: newRegistry(), Set: set})
	var ve *pipeline.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	return ve
}

// wantProblems compares the problems, as "LINE:COL: message" with dir
// written as DIR, with want.
func wantProblems(t *testing.T, ve *pipeline.ValidationError, dir string, want []string) {
	t.Helper()
	var got []string
	for _, p := range ve.Problems {
		msg := p.Msg
		if dir != "" {
			msg = strings.ReplaceAll(msg, dir, "DIR")
		}
		got = append(got, fmt.Sprintf("%d:%d: %s", p.Pos.Line, p.Pos.Col, msg))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A save's path stays inside the run directory unless export: true; the
// reproduced cases (`..` replaced runs/, `../../victim` or an absolute path
// replaced any folder) are refused at the path's FILE:LINE:COL, saying how
// to opt in, and an export may not name the recipe's directory.
func TestSavePathEscapes(t *testing.T) {
	dir := t.TempDir()
	src := `version: 1
stages:
  base: {uses: load, with: {path: m}}
  s1: {uses: save, with: {model: base, path: ".."}}
  s2: {uses: save, with: {model: base, path: ../../victim}}
  s3: {uses: save, with: {model: base, path: /tmp/victim}}
  s4: {uses: save, with: {model: base, export: true, path: .}}
  s5: {uses: save, with: {model: base, export: true, path: m}}
  ok: {uses: save, with: {model: base, path: model}}
  ok2: {uses: save, with: {model: base, export: true, path: out/model}}
`
	ve := loadInvalid(t, filepath.Join(dir, "save.yaml"), src)
	const hint = "outputs stay inside the run directory unless the stage's with sets `export: true` (then the path may be absolute, or relative to the recipe's directory)"
	wantProblems(t, ve, dir, []string{
		`4:46: stage s1: path: ".." leaves the run directory; ` + hint,
		`5:46: stage s2: path: "../../victim" leaves the run directory; ` + hint,
		`6:46: stage s3: path: "/tmp/victim" is absolute; ` + hint,
		`7:60: stage s4: path: "." (export: relative to the recipe's directory, DIR) is the recipe's directory; lopper never writes over it`,
		`8:60: stage s5: path: "m" (export: relative to the recipe's directory, DIR/m) is DIR/m, which stage base reads; an input is never written over`,
	})
}
