package exectest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// CacheRecipe exercises every way a stage can depend on something: a
// param (a, c), an artifact (b, the loop, the matrix), another stage's
// metrics (d reads c), the loop's prev and iteration, matrix values and a
// file (f, data.txt next to the recipe). vol is volatile.
const CacheRecipe = `version: 1
name: cache
params: {v: 1.0, w: 10.0, data: {type: path, default: data.txt}}
stages:
  a: {uses: emit, with: {value: "${{ params.v }}", sleep: 30ms}}
  b: {uses: emit, with: {input: a, add: 1}}
  c: {uses: emit, with: {metrics: {w: "${{ params.w }}"}}}
  d: {uses: emit, with: {input: b, add: 1, reads: [c]}}
  f: {uses: emit, with: {file: "${{ params.data }}", metrics: {x: 1}}}
  l:
    uses: loop
    with: {max_iterations: 3, from: b, carry: step, until: "step.value > 100"}
    stages:
      step: {uses: emit, with: {input: prev, add: "${{ iteration + 10 }}"}}
  m:
    uses: matrix
    with: {x: [1, 2]}
    stages:
      s: {uses: emit, with: {input: a, add: "${{ matrix.x }}"}}
  vol: {uses: emit, with: {volatile: true, metrics: {t: 1}}}
`

// CachePaths are the instances of CacheRecipe's registered-kind stages.
var CachePaths = []string{"a", "b", "c", "d", "f", "l[0]/step", "l[1]/step", "l[2]/step", "m[0]/s", "m[1]/s", "vol"}

// cached runs CacheRecipe with one cache, again and again.
type cached struct {
	t     *testing.T
	ex    Executor
	kit   *pipelinetest.Kit
	file  string
	cache *pipeline.Cache
}

func newCached(t *testing.T, ex Executor) *cached {
	f := writeRecipe(t, CacheRecipe)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f), "data.txt"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := pipeline.OpenCache(pipeline.DefaultCacheDir(f))
	if err != nil {
		t.Fatal(err)
	}
	return &cached{t: t, ex: ex, kit: pipelinetest.New(), file: f, cache: c}
}

// run runs the recipe and returns its record and the stages that ran.
func (c *cached) run(set ...string) (*pipeline.RunRecord, []string) {
	c.t.Helper()
	before := map[string]int{}
	for _, p := range CachePaths {
		before[p] = c.kit.Runs(p)
	}
	r, err := pipeline.Load(c.file, pipeline.LoadOptions{Registry: registry(c.kit), Set: set})
	if err != nil {
		c.t.Fatal(err)
	}
	rec, err := c.ex.Run(context.Background(), r, runner.Options{OutDir: c.t.TempDir(), Cache: c.cache,
		Build: "test-build", Numerics: "test-numerics", Logger: testLogger(c.t)})
	if err != nil || rec.Status != pipeline.RunSucceeded {
		c.t.Fatalf("run: %v %s %s", err, rec.Status, rec.Error)
	}
	var ran []string
	for _, p := range CachePaths {
		if c.kit.Runs(p) > before[p] {
			ran = append(ran, p)
		}
	}
	return rec, ran
}

func ranOnly(t *testing.T, ran []string, want ...string) {
	t.Helper()
	b1, _ := json.Marshal(ran)
	b2, _ := json.Marshal(want)
	if string(b1) != string(b2) {
		t.Errorf("ran %s, want %s", b1, b2)
	}
}

// A second run reuses every stage but the volatile one, with the same
// metrics, artifacts and cache keys.
func testCacheRerunReusesEveryStage(t *testing.T, ex Executor) {
	c := newCached(t, ex)
	first, ran := c.run()
	ranOnly(t, ran, CachePaths...)
	second, ran := c.run()
	ranOnly(t, ran, "vol")
	for _, p := range CachePaths {
		s, f := stage(t, second, p), stage(t, first, p)
		m1, _ := json.Marshal(f.Metrics)
		m2, _ := json.Marshal(s.Metrics)
		switch {
		case p == "vol":
			if s.Status != pipeline.StageSucceeded || !s.Volatile || s.CacheKey != "" {
				t.Errorf("vol: status %s volatile %v key %q", s.Status, s.Volatile, s.CacheKey)
			}
		case s.Status != pipeline.StageCached || s.CacheKey != f.CacheKey || string(m1) != string(m2):
			t.Errorf("%s: %s key %s metrics %s; first run key %s metrics %s", p, s.Status, s.CacheKey, m2, f.CacheKey, m1)
		}
	}
	if d1, d2 := stage(t, first, "l").Artifacts["number"], stage(t, second, "l").Artifacts["number"]; d1 != d2 {
		t.Errorf("loop artifact %v, first run %v", d2, d1)
	}
	if got := stage(t, second, "l").Metrics["value"]; got != 2+10+11+12 {
		t.Errorf("loop value %v, want 35", got)
	}
}

// A changed param reruns the stages that read it and those downstream,
// nothing else.
func testCacheParamChangeRerunsOnlyDownstream(t *testing.T, ex Executor) {
	c := newCached(t, ex)
	c.run()
	// w feeds c; d reads c's metrics.
	_, ran := c.run("w=20")
	ranOnly(t, ran, "c", "d", "vol")
	// v feeds a; everything that reads a's artifact, directly or not, reruns.
	rec, ran := c.run("w=20", "v=5")
	ranOnly(t, ran, "a", "b", "d", "l[0]/step", "l[1]/step", "l[2]/step", "m[0]/s", "m[1]/s", "vol")
	if got := stage(t, rec, "m[1]/s").Metrics["value"]; got != 7 {
		t.Errorf("m[1]/s value %v, want 5+2", got)
	}
	_, ran = c.run()
	ranOnly(t, ran, "vol")
}
