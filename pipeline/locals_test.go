package pipeline_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// echoConfig is a test kind whose interpolations read locals: `inputs`
// (one key per entry of its inputs) and `outputs` (dir), which its Run
// replaces with made-up values.
type echoConfig struct {
	Args   []string                `yaml:"args"`
	Inputs map[string]pipeline.Ref `yaml:"inputs"`
}

func echoRegistry(kit *pipelinetest.Kit) *pipeline.Registry {
	reg := registry(kit)
	reg.Register("echo", pipeline.Typed(pipeline.KindOf[echoConfig]{
		Declare: func(cfg *echoConfig) pipeline.Decl {
			var d pipeline.Decl
			for _, name := range slices.Sorted(maps.Keys(cfg.Inputs)) {
				d.Inputs = append(d.Inputs, pipeline.Input{Ref: cfg.Inputs[name], Artifact: "number"})
			}
			d.Locals = map[string][]string{"inputs": slices.Sorted(maps.Keys(cfg.Inputs)), "outputs": {"dir"}}
			return d
		},
		Run: func(ctx context.Context, sc *pipeline.StageContext, cfg *echoConfig) (*pipeline.Result, error) {
			vals := map[string]map[string]string{"inputs": {}, "outputs": {"dir": "/out"}}
			for name := range cfg.Inputs {
				vals["inputs"][name] = "/in/" + name
			}
			var got []string
			for _, a := range cfg.Args {
				got = append(got, pipeline.SubstituteLocals(a, vals))
			}
			return &pipeline.Result{Details: map[string]any{"args": got}}, nil
		},
	}))
	return reg
}

func loadEcho(t *testing.T, src string) (*pipeline.Recipe, error) {
	t.Helper()
	return pipeline.Load(writeRecipe(t, src), pipeline.LoadOptions{Registry: echoRegistry(pipelinetest.New())})
}

// A kind's locals are read like any name in its interpolations, mixed with
// params and metrics, and reach Run as LocalRef text that it replaces;
// the recorded config keeps that text (so run-specific paths stay out of
// the cache key). A stage called like a local is hidden by it, and not a
// dependency.
func TestLocalsReachRun(t *testing.T) {
	src := `version: 1
params: {n: {type: int, default: 3}}
stages:
  a: {uses: emit, with: {metrics: {x: 2}, value: 1}}
  outputs: {uses: emit, with: {metrics: {dir: 1}}}
  e:
    uses: echo
    with:
      inputs: {model: a}
      args: ["${{ inputs.model }}", "--out=${{ outputs.dir }}/f", "${{ params.n }}-${{ a.x }}"]
`
	r, err := loadEcho(t, src)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := r.Stage("e")
	if deps := es.Deps(); !slices.Equal(deps, []string{"a"}) {
		t.Errorf("deps of e = %v, want [a]", deps)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e := stage(t, rec, "e")
	if e.Status != pipeline.StageSucceeded {
		t.Fatalf("e: %s %s", e.Status, e.Error)
	}
	got := e.Result().Details.(map[string]any)["args"].([]string)
	want := []string{"/in/model", "--out=/out/f", "3-2"}
	if !slices.Equal(got, want) {
		t.Errorf("Run saw %v, want %v", got, want)
	}
	if cfg := string(e.Config); !strings.Contains(cfg, `"${{ inputs.model }}","--out=${{ outputs.dir }}/f","3-2"`) {
		t.Errorf("recorded config %s", cfg)
	}
}

// Locals are checked at load time, each problem at its FILE:LINE:COL:
// unknown keys (with a did-you-mean), a local in a larger expression, and
// locals outside the stage that declares them.
func TestLocalsCheckedAtLoad(t *testing.T) {
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 2}, value: 1}}
  e: {uses: echo, with: {inputs: {model: a}, args: ["${{ inputs.modle }}", "x=${{ outputs.model }}", "${{ inputs.model + 'x' }}"]}}
  f: {uses: emit, with: {fail: "${{ inputs.model }}"}}
`
	f := writeRecipe(t, src)
	_, err := pipeline.Load(f, pipeline.LoadOptions{Registry: echoRegistry(pipelinetest.New())})
	if err == nil {
		t.Fatal("recipe loaded")
	}
	got := strings.ReplaceAll(err.Error(), f, "recipe.yaml")
	for _, want := range []string{
		`recipe.yaml:4:65: stage e: args.0: inputs has no input "modle" (did you mean "model"?); it has model`,
		`recipe.yaml:4:91: stage e: args.1: outputs has no output "model"; it has dir`,
		`recipe.yaml:4:107: stage e: args.2: inputs.KEY is a value that stage e gives when it runs; write it alone in its ${{ }}, e.g. ${{ inputs.NAME }}`,
		`recipe.yaml:5:37: stage f: fail: unknown name "inputs"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// A stage whose config has problems is reported once: its locals read as
// known, whatever the key.
func TestLocalsOfBrokenStage(t *testing.T) {
	src := `version: 1
stages:
  e: {uses: echo, with: {inputs: {model: nosuch}, args: ["${{ inputs.anything }}"], bogus: 1}}
`
	_, err := loadEcho(t, src)
	if err == nil {
		t.Fatal("recipe loaded")
	}
	var ve *pipeline.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.Contains(ve.Problems[0].Msg, `unknown field "bogus"`) {
		t.Errorf("want one problem, the unknown field; got %v", err)
	}
}

// SubstituteLocals replaces exactly the LocalRefs it is given.
func TestSubstituteLocals(t *testing.T) {
	vals := map[string]map[string]string{"inputs": {"a": "/x", "ab": "/y"}}
	got := pipeline.SubstituteLocals("${{ inputs.a }}:${{ inputs.ab }}:${{ inputs.c }}:${{inputs.a}}", vals)
	if want := "/x:/y:${{ inputs.c }}:${{inputs.a}}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if pipeline.LocalRef("outputs", "model") != "${{ outputs.model }}" {
		t.Errorf("LocalRef = %q", pipeline.LocalRef("outputs", "model"))
	}
}
