package pipeline_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

const paramsRecipe = `version: 1
params:
  n: 3
  rate: {type: float, default: 2, doc: an int default widens to float}
  name: tiny
  strict: false
  data: {type: path, default: data/train.txt}
stages:
  a: {uses: emit, with: {value: "${{ params.rate }}", details: {name: "${{ params.name }}-${{ params.n }}", strict: "${{ params.strict }}", data: "${{ params.data }}"}}}
`

func TestParamsDefaultsAndSet(t *testing.T) {
	kit := pipelinetest.New()
	r := mustLoad(t, kit, paramsRecipe)
	vals := r.ParamValues()
	if vals["n"] != 3 || vals["rate"] != 2.0 || vals["name"] != "tiny" || vals["strict"] != false {
		t.Errorf("defaults: %v", vals)
	}
	if want := filepath.Join(r.Dir, "data/train.txt"); vals["data"] != want {
		t.Errorf("path default %v, want %s (relative to the recipe)", vals["data"], want)
	}
	wd := t.TempDir()
	r, err := pipeline.Load(writeRecipe(t, paramsRecipe), pipeline.LoadOptions{
		Registry: registry(kit), WorkDir: wd,
		Set: []string{"n=7", "rate=0.25", "name=big", "strict=true", "data=other.txt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	vals = r.ParamValues()
	if vals["n"] != 7 || vals["rate"] != 0.25 || vals["name"] != "big" || vals["strict"] != true || vals["data"] != filepath.Join(wd, "other.txt") {
		t.Errorf("after --set: %v", vals)
	}
	for _, p := range r.Params {
		if p.Source != "--set" {
			t.Errorf("param %s: source %q", p.Name, p.Source)
		}
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil || rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run: %v %v", err, rec.Status)
	}
	a := stage(t, rec, "a")
	d := a.Details.(map[string]any)
	// A value that is one ${{ }} keeps the expression's type; text with
	// ${{ }} inside becomes a string.
	if a.Metrics["value"] != 0.25 || d["name"] != "big-7" || d["strict"] != true || d["data"] != filepath.Join(wd, "other.txt") {
		t.Errorf("interpolated: value %v details %v", a.Metrics["value"], d)
	}
}

func TestSetErrors(t *testing.T) {
	cases := []struct {
		set  string
		want string
	}{
		{"nn=1", `--set nn=1: unknown param "nn" (did you mean "n"?); params are "n", "rate", "name", "strict", "data"`},
		{"n=1.5", `--set n=1.5: param n is an int: want an int, got "1.5"`},
		{"rate=fast", `--set rate=fast: param rate is a float: want a float, got "fast"`},
		{"rate=NaN", `--set rate=NaN: param rate is a float: NaN is not a usable value`},
		{"strict=yes", `--set strict=yes: param strict is a bool: want a bool (true or false), got "yes"`},
		{"n", `--set n: want NAME=VALUE`},
	}
	for _, c := range cases {
		if got := loadErr(t, paramsRecipe, c.set); got != c.want {
			t.Errorf("--set %s:\n got %s\nwant %s", c.set, got, c.want)
		}
	}
	if got := loadErr(t, paramsRecipe, "n=1", "n=2"); !strings.Contains(got, "param n is set twice") {
		t.Errorf("twice: %s", got)
	}
}
