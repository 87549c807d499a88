package pipeline_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
)

func planIDs(levels [][]*pipeline.PlanStage) string {
	var parts []string
	for _, lvl := range levels {
		var ids []string
		for _, s := range lvl {
			ids = append(ids, s.ID)
		}
		parts = append(parts, "["+strings.Join(ids, " ")+"]")
	}
	return strings.Join(parts, " ")
}

func TestPlanLevels(t *testing.T) {
	r, err := pipeline.Load("testdata/valid/gradual.yaml", pipeline.LoadOptions{Registry: registry(pipelinetest.New())})
	if err != nil {
		t.Fatal(err)
	}
	p := r.Plan()
	if got := planIDs(p.Levels); got != "[base] [baseline] [gradual] [final] [gate]" {
		t.Errorf("levels %s", got)
	}
	if p.Stages != 8 || p.Baseline != "baseline" {
		t.Errorf("stages %d baseline %q", p.Stages, p.Baseline)
	}
	g := p.Levels[2][0]
	if got := strings.Join(g.Needs, ","); got != "baseline,base" {
		t.Errorf("gradual needs %s (explicit needs, then from)", got)
	}
	if got := planIDs(g.Levels); got != "[prune] [retrain] [check]" {
		t.Errorf("body levels %s", got)
	}
	if g.Loop == nil || g.Loop.MaxIterations != 5 || g.Loop.Carry != "retrain" || g.Loop.Measure != "check" || g.Loop.Keep != "last_passing" {
		t.Errorf("loop %+v", g.Loop)
	}
	if gate := p.Levels[4][0]; strings.Join(gate.Needs, ",") != "final,gradual" || gate.When != "params.strict" {
		t.Errorf("gate %+v", gate)
	}
	if _, err := json.Marshal(p); err != nil {
		t.Error(err)
	}
}

func TestPlanText(t *testing.T) {
	src := `version: 1
name: small
params: {n: 2, label: x}
stages:
  a: {uses: emit, with: {value: 1}}
  b: {uses: emit, with: {value: 2}}
  sweep:
    uses: matrix
    needs: [a, b]
    with: {s: [1, 2.5], m: [p, q]}
    stages:
      c: {uses: emit, with: {input: a}}
`
	r := mustLoad(t, pipelinetest.New(), src, "n=3")
	var buf bytes.Buffer
	if err := r.Plan().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := "recipe   small (" + r.File + `)
params
  n      int     3    --set
  label  string  "x"  default

4 stages in 2 levels
level 1
  a          emit
  b          emit
level 2
  sweep      matrix  needs a, b; 4 branches: s=[1, 2.5] × m=[p, q]
    level 1
      c      emit
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestGraph(t *testing.T) {
	src := `version: 1
name: g
stages:
  base: {uses: emit, with: {value: 1}}
  end: {uses: loop, needs: [base], with: {max_iterations: 3, from: base, carry: step, until: "step.value > 2"}, stages: {step: {uses: emit, with: {input: prev, add: 1}}}}
  after: {uses: emit, with: {input: end}}
`
	r := mustLoad(t, pipelinetest.New(), src)
	var buf bytes.Buffer
	if err := r.WriteGraph(&buf, pipeline.GraphMermaid); err != nil {
		t.Fatal(err)
	}
	wantMermaid := `flowchart TD
  s_base["base (emit)"]
  subgraph s_end["end: loop, up to 3 iterations, until step.value #gt; 2"]
    s_step["step (emit)"]
  end
  s_after["after (emit)"]
  s_base --> s_end
  s_step -. prev .-> s_step
  s_end --> s_after
`
	if got := buf.String(); got != wantMermaid {
		t.Errorf("mermaid:\n%s\nwant:\n%s", got, wantMermaid)
	}
	buf.Reset()
	if err := r.WriteGraph(&buf, pipeline.GraphDot); err != nil {
		t.Fatal(err)
	}
	wantDot := `digraph "g" {
  compound=true;
  rankdir=TB;
  node [shape=box];
  "s_base" [label="base (emit)"];
  subgraph "cluster_end" {
    label="end: loop, up to 3 iterations, until step.value > 2";
    "s_step" [label="step (emit)"];
  }
  "s_after" [label="after (emit)"];
  "s_base" -> "s_step" [lhead="cluster_end"];
  "s_step" -> "s_step" [style=dashed, label="prev"];
  "s_step" -> "s_after" [ltail="cluster_end"];
}
`
	if got := buf.String(); got != wantDot {
		t.Errorf("dot:\n%s\nwant:\n%s", got, wantDot)
	}
	if err := r.WriteGraph(&buf, "svg"); err == nil {
		t.Errorf("unknown format accepted")
	}
}

// A plan's memory estimates come from the kinds, in plan order, each
// stage seeing what its inputs produce: through a loop (prev is `from` in
// the estimate, the loop produces what its carry does) and into the JSON
// and the text; a kind that cannot tell says why.
func TestPlanMemory(t *testing.T) {
	src := `version: 1
name: mem
stages:
  base: {uses: emit, with: {value: 1, memory: 100}}
  loop:
    uses: loop
    with: {max_iterations: 2, from: base, carry: step}
    stages:
      step: {uses: emit, with: {input: prev, add: 1, memory: 10}}
  after: {uses: emit, with: {input: loop, memory: 1}}
  plain: {uses: emit, with: {value: 2}}
  odd: {uses: emit, with: {value: 3, unsure: "no config.json"}}
`
	r := mustLoad(t, pipelinetest.New(), src)
	p := r.Plan()
	r.EstimateMemory(p)
	got := map[string]*pipeline.PlanMemory{}
	var walk func(lvls [][]*pipeline.PlanStage)
	walk = func(lvls [][]*pipeline.PlanStage) {
		for _, l := range lvls {
			for _, s := range l {
				got[s.ID] = s.Memory
				walk(s.Levels)
			}
		}
	}
	walk(p.Levels)
	for id, want := range map[string]int64{"base": 100, "step": 110, "after": 111} {
		if got[id] == nil || got[id].Bytes != want {
			t.Errorf("%s: %+v, want %d bytes", id, got[id], want)
		}
	}
	if got["plain"] != nil || got["loop"] != nil {
		t.Errorf("estimates for stages without one: %+v %+v", got["plain"], got["loop"])
	}
	if got["odd"] == nil || got["odd"].Unknown != "no config.json" {
		t.Errorf("odd: %+v", got["odd"])
	}
	var buf bytes.Buffer
	if err := p.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"needs loop; memory ≈ 111 B\n", "\nmemory estimates", "\n  after  111 B    input 110 B, own 1 B\n", "\n  odd    unknown  no config.json\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
	js, err := json.Marshal(p)
	if err != nil || !strings.Contains(string(js), `"memory":{"bytes":111,"total":"111 B","detail":"input 110 B, own 1 B"}`) {
		t.Errorf("json: %v %s", err, js)
	}
}
