package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// A value interpolated from another stage's metrics is only known at run
// time: its load-time check is deferred, and the run-time check reports the
// problem at the value's position.
func TestRuntimeInterpolationIsChecked(t *testing.T) {
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 2, y: 0.5}}}
  ok: {uses: emit, with: {schedule: {from: "${{ a.y }}", to: "${{ a.x }}"}}}
  bad: {uses: emit, with: {schedule: {from: "${{ a.x }}", to: 3}}}
`
	kit := pipelinetest.New()
	f := writeRecipe(t, src)
	r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: registry(kit)})
	if err != nil {
		t.Fatalf("a run-time value was checked at load time: %v", err)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s := stage(t, rec, "ok"); s.Status != pipeline.StageSucceeded {
		t.Errorf("ok: %s %s", s.Status, s.Error)
	}
	b := stage(t, rec, "bad")
	want := f + ":5:45: stage bad: schedule.from: must be in [0, 1), got 2"
	if b.Status != pipeline.StageFailed || !strings.HasPrefix(b.Error, want) {
		t.Errorf("bad: %s\n got %q\nwant %q", b.Status, b.Error, want)
	}
	if kit.Runs("bad") != 0 {
		t.Errorf("bad ran with an invalid config")
	}
	// The resolved config is recorded with the interpolated values.
	if got := string(stage(t, rec, "ok").Config); !strings.Contains(got, `"schedule":{"from":0.5,"steps":0,"to":2}`) {
		t.Errorf("recorded config %s", got)
	}
}

// A load-time value is checked at load time, once per matrix branch.
func TestStaticInterpolationCheckedPerBranch(t *testing.T) {
	src := `version: 1
stages:
  m:
    uses: matrix
    with: {s: [0.5, 1.5]}
    stages:
      p: {uses: emit, with: {schedule: {from: "${{ matrix.s }}", to: 2}}}
`
	got := loadErr(t, src)
	want := "recipe.yaml:7:47: stage p: schedule.from: must be in [0, 1), got 1.5 (in matrix branch s=1.5)"
	if !strings.HasPrefix(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestValidationErrorUnwraps(t *testing.T) {
	_, err := pipeline.Parse("r.yaml", []byte("version: 1\nstages: {a: {uses: nope}, b: {uses: nope2}}\n"), pipeline.LoadOptions{})
	var p *pipeline.Problem
	if !errors.As(err, &p) || p.Pos.Line != 2 {
		t.Fatalf("errors.As(*Problem): %v", err)
	}
	var ve *pipeline.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("want 2 problems in one pass, got %v", err)
	}
}

func TestProblemRendering(t *testing.T) {
	p := &pipeline.Problem{
		Pos:     pipeline.Pos{File: "r.yaml", Line: 12, Col: 8},
		Msg:     `unknown name "fianl"`,
		Snippet: "\tthat: fianl.x > 1",
	}
	want := "r.yaml:12:8: unknown name \"fianl\"\n" +
		"  12 | \tthat: fianl.x > 1\n" +
		"     | \t      ^"
	if got := p.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	noCol := &pipeline.Problem{Pos: pipeline.Pos{File: "r.yaml", Line: 3}, Msg: "YAML syntax error: x", Snippet: "a: b: c"}
	if got, want := noCol.Error(), "r.yaml:3: YAML syntax error: x\n  3 | a: b: c"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}
