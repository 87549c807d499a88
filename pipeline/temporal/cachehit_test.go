package temporal

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/runner"
	"lopper/pipeline/store"
)

// countingStore counts the objects read from a store (downloads, for a
// bucket).
type countingStore struct {
	store.Store
	opened atomic.Int64
}

func (s *countingStore) OpenObject(ctx context.Context, name string) (*store.Object, error) {
	s.opened.Add(1)
	return s.Store.OpenObject(ctx, name)
}

// A cache hit on a worker costs entry lookups only: no artifact of a hit
// is read from the store, neither by the hit nor by the stages after it
// (which are hits too); a stage that runs reads what it reads.
func TestCacheHitReadsNoObject(t *testing.T) {
	r, _, _ := load(t, `version: 1
stages:
  a: {uses: emit, with: {value: 1}}
  b: {uses: emit, with: {input: a, add: 2}}
  c: {uses: emit, with: {input: b, add: 1}}
`)
	dir, err := store.OpenDir(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{Store: dir}
	cache := pipeline.NewCache(counting)
	x := &testExecutor{t: t}
	first := run(t, x, r, runner.Options{Cache: cache})
	if first.Status != pipeline.RunSucceeded {
		t.Fatalf("first run: %s: %s", first.Status, first.Error)
	}
	if n := counting.opened.Load(); n != 2 { // b reads a's number, c b's
		t.Errorf("the first run read %d objects, want 2", n)
	}
	counting.opened.Store(0)
	second := run(t, x, r, runner.Options{Cache: cache})
	for _, p := range []string{"a", "b", "c"} {
		if s := exectest.Stage(t, second, p); s.Status != pipeline.StageCached {
			t.Fatalf("second run: %s is %s, not cached", p, s.Status)
		}
	}
	if n := counting.opened.Load(); n != 0 {
		t.Errorf("the second run's cache hits read %d objects, want 0", n)
	}
}
