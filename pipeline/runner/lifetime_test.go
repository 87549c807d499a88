package runner_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"weak"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// blob is a test artifact big enough to be its own allocation, so that a
// weak pointer to it tells whether the engine still reaches it.
type blob struct {
	data  []byte
	value int
}

func (b *blob) Kind() string   { return "blob" }
func (b *blob) Digest() string { return fmt.Sprintf("blob:%d", b.value) }

// blobConfig is the config of the `blob` test kind: a fresh blob of value
// Add, or Input's plus Add, read with Input or (Take) taken; an owned
// input is changed in place, as prune does.
type blobConfig struct {
	Input pipeline.Ref `yaml:"input"`
	Take  bool         `yaml:"take"`
	Add   int          `yaml:"add"`
	// Again reads the input once more after taking it.
	Again bool `yaml:"again"`
}

// blobLab runs blob stages and watches their artifacts.
type blobLab struct {
	mu    sync.Mutex
	made  map[string]weak.Pointer[blob] // by the path of the stage that made it
	alive map[string][]string           // by stage path: the blobs reachable when it started
	owned map[string]bool               // by stage path: whether it owned its input
}

func newBlobLab() *blobLab {
	return &blobLab{made: map[string]weak.Pointer[blob]{}, alive: map[string][]string{}, owned: map[string]bool{}}
}

func (l *blobLab) registry() *pipeline.Registry {
	reg := registry(pipelinetest.New())
	reg.Register("blob", pipeline.Typed(pipeline.KindOf[blobConfig]{
		Declare: func(cfg *blobConfig) pipeline.Decl {
			d := pipeline.Decl{Metrics: []string{"value"}, Artifacts: []string{"blob"}}
			if !cfg.Input.IsZero() {
				d.Inputs = []pipeline.Input{{Ref: cfg.Input, Artifact: "blob"}}
			}
			return d
		},
		Run: l.run,
	}))
	return reg
}

func (l *blobLab) run(_ context.Context, sc *pipeline.StageContext, cfg *blobConfig) (*pipeline.Result, error) {
	l.observe(sc.Path)
	out := &blob{data: make([]byte, 1<<16), value: cfg.Add}
	if !cfg.Input.IsZero() {
		var in *blob
		var owned bool
		var err error
		if cfg.Take {
			in, owned, err = pipeline.TakeArtifact[*blob](sc, cfg.Input, "blob")
		} else {
			in, err = pipeline.InputArtifact[*blob](sc, cfg.Input, "blob")
		}
		if err != nil {
			return nil, err
		}
		if cfg.Again {
			if _, err := sc.Input(cfg.Input); err != nil {
				return nil, err
			}
		}
		if owned {
			in.data[0]++ // changed in place: only an owner may
			out.data = in.data
		}
		out.value += in.value
		l.mu.Lock()
		l.owned[sc.Path] = owned
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.made[sc.Path] = weak.Make(out)
	l.mu.Unlock()
	return &pipeline.Result{Metrics: pipeline.Metrics{"value": float64(out.value)},
		Artifacts: map[string]pipeline.Artifact{"blob": out}}, nil
}

// observe records which blobs are still reachable as stage path starts.
func (l *blobLab) observe(path string) {
	runtime.GC()
	l.mu.Lock()
	defer l.mu.Unlock()
	var alive []string
	for p, w := range l.made {
		if w.Value() != nil {
			alive = append(alive, p)
		}
	}
	slices.Sort(alive)
	l.alive[path] = alive
}

func (l *blobLab) runRecipe(t *testing.T, src string, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	rec := l.run1(t, src, opts)
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run %s: %s", rec.Status, rec.Error)
	}
	return rec
}

// run1 runs src and returns its record, whatever its status.
func (l *blobLab) run1(t *testing.T, src string, opts runner.Options) *pipeline.RunRecord {
	t.Helper()
	r, err := pipeline.Load(writeRecipe(t, src), pipeline.LoadOptions{Registry: l.registry()})
	if err != nil {
		t.Fatalf("recipe does not load:\n%v", err)
	}
	opts.OutDir, opts.Logger = t.TempDir(), testLogger(t)
	rec, err := runner.Run(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// A stage that took its input cannot read it again: it may have changed it.
func TestATakenInputCannotBeReadAgain(t *testing.T) {
	lab := newBlobLab()
	rec := lab.run1(t, `version: 1
stages:
  a: {uses: blob, with: {add: 1}}
  b: {uses: blob, with: {input: a, take: true, again: true}}
`, runner.Options{Jobs: 1})
	b := stage(t, rec, "b")
	if b.Status != pipeline.StageFailed || !strings.Contains(b.Error, "input a was taken by this stage") {
		t.Errorf("b: %s %q, want it failed for reading a taken input", b.Status, b.Error)
	}
}

// A chain load → prune → prune → evaluate: each artifact is unreachable as
// soon as its last reader finished, and the record still names it.
func TestArtifactsAreDroppedAfterTheirLastReader(t *testing.T) {
	lab := newBlobLab()
	rec := lab.runRecipe(t, `version: 1
stages:
  a: {uses: blob, with: {add: 1}}
  b: {uses: blob, with: {input: a, add: 10}}
  c: {uses: blob, with: {input: b, add: 100}}
  d: {uses: blob, with: {input: c}}
`, runner.Options{Jobs: 1})
	want := map[string][]string{"b": {"a"}, "c": {"b"}, "d": {"c"}}
	for path, w := range want {
		if got := lab.alive[path]; !slices.Equal(got, w) {
			t.Errorf("as %s started, blobs %v were reachable, want %v", path, got, w)
		}
	}
	if got := stage(t, rec, "a").Artifacts["blob"].Digest; got != "blob:1" {
		t.Errorf("a's artifact recorded as %q", got)
	}
	if got := stage(t, rec, "d").Metrics["value"]; got != 111 {
		t.Errorf("d's value %g, want 111", got)
	}
}

// With KeepArtifacts every artifact stays until the run ends, and no stage
// takes its input.
func TestKeepArtifactsKeepsEveryArtifact(t *testing.T) {
	lab := newBlobLab()
	rec := lab.runRecipe(t, `version: 1
stages:
  a: {uses: blob, with: {add: 1}}
  b: {uses: blob, with: {input: a, take: true, add: 10}}
  c: {uses: blob, with: {input: b, take: true}}
`, runner.Options{Jobs: 1, KeepArtifacts: true})
	if got := lab.alive["c"]; !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("as c started, blobs %v were reachable, want [a b]", got)
	}
	if lab.owned["b"] || lab.owned["c"] {
		t.Errorf("owned %v under KeepArtifacts", lab.owned)
	}
	if a, ok := stage(t, rec, "a").Result().Artifacts["blob"].(*blob); !ok || a.data[0] != 0 {
		t.Errorf("a's blob in the record: %v", stage(t, rec, "a").Result().Artifacts["blob"])
	}
}

// The last reader of a result owns it; a result that two stages read, at
// once or one after the other, is taken by neither while the other may
// still run.
func TestOnlyTheLastReaderTakesAnInput(t *testing.T) {
	lab := newBlobLab()
	lab.runRecipe(t, `version: 1
stages:
  a: {uses: blob, with: {add: 1}}
  sole: {uses: blob, with: {input: a, take: true, add: 10}}
  x: {uses: blob, with: {add: 2}}
  r1: {uses: blob, with: {input: x, take: true, add: 10}}
  r2: {uses: blob, with: {input: x, take: true, add: 20}}
  y: {uses: blob, with: {add: 3}}
  first: {uses: blob, with: {input: y, take: true, add: 10}}
  then: {uses: blob, needs: [first], with: {input: y, take: true, add: 20}}
  z: {uses: blob, with: {add: 4}}
  sweep:
    uses: matrix
    with: {n: [1, 2]}
    stages:
      branch: {uses: blob, with: {input: z, take: true, add: "${{ 10 * matrix.n }}"}}
      inner: {uses: blob, with: {input: branch, take: true}}
`, runner.Options{Jobs: 2})
	want := map[string]bool{"sole": true, "r1": false, "r2": false, "first": false, "then": true,
		"sweep[0]/branch": false, "sweep[1]/branch": false, "sweep[0]/inner": true, "sweep[1]/inner": true}
	for path, w := range want {
		if got := lab.owned[path]; got != w {
			t.Errorf("%s owned its input: %t, want %t", path, got, w)
		}
	}
}

// A loop drops the carries it can no longer keep, keeps the last passing
// one (keep: last_passing) for the stage after it, and never hands prev
// over to be taken.
func TestLoopKeepsItsCarryAndDropsTheRest(t *testing.T) {
	lab := newBlobLab()
	rec := lab.runRecipe(t, `version: 1
stages:
  base: {uses: blob, with: {add: 1}}
  grow:
    uses: loop
    with: {max_iterations: 6, until: step.value > 4, keep: last_passing, from: base, carry: step}
    stages:
      step: {uses: blob, with: {input: prev, take: true, add: 1}}
  after: {uses: blob, with: {input: grow, take: true}}
`, runner.Options{Jobs: 1})
	g := stage(t, rec, "grow")
	if g.Loop.Kept == nil || *g.Loop.Kept != 2 || len(g.Loop.Iterations) != 4 {
		t.Fatalf("kept %v of %d iterations, want 2 of 4", g.Loop.Kept, len(g.Loop.Iterations))
	}
	if got := stage(t, rec, "after").Metrics["value"]; got != 4 {
		t.Errorf("after read value %g, want the kept iteration's 4", got)
	}
	for _, p := range []string{"grow[0]/step", "grow[1]/step", "grow[2]/step", "grow[3]/step"} {
		if lab.owned[p] {
			t.Errorf("%s took prev", p)
		}
	}
	if !lab.owned["after"] {
		t.Error("after did not own the loop's result, its only reader")
	}
	// As iteration 3 starts, it may keep iteration 2's or its own carry:
	// 0's and 1's are gone. base, the loop's from, is read by the loop
	// until it ends.
	if got, want := lab.alive["grow[3]/step"], []string{"base", "grow[2]/step"}; !slices.Equal(got, want) {
		t.Errorf("as iteration 3 started, blobs %v were reachable, want %v", got, want)
	}
	if got, want := lab.alive["after"], []string{"grow[2]/step"}; !slices.Equal(got, want) {
		t.Errorf("as after started, blobs %v were reachable, want %v", got, want)
	}
}
