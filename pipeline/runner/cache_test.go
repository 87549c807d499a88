package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"lopper/internal/fsx"
	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// cacheFixture is a recipe directory with its data file and a cache.
type cacheFixture struct {
	t     *testing.T
	kit   *pipelinetest.Kit
	file  string
	cache *pipeline.Cache
}

func newCacheFixture(t *testing.T, src string) *cacheFixture {
	t.Helper()
	f := writeRecipe(t, src)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f), "data.txt"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := pipeline.OpenCache(pipeline.DefaultCacheDir(f))
	if err != nil {
		t.Fatal(err)
	}
	return &cacheFixture{t: t, kit: pipelinetest.New(), file: f, cache: c}
}

// run runs the recipe with the cache and returns the record and how many
// times each emit stage ran in this run.
func (cf *cacheFixture) run(set ...string) (*pipeline.RunRecord, map[string]int) {
	cf.t.Helper()
	before := map[string]int{}
	for _, p := range exectest.CachePaths {
		before[p] = cf.kit.Runs(p)
	}
	r, err := pipeline.Load(cf.file, pipeline.LoadOptions{Registry: registry(cf.kit), Set: set})
	if err != nil {
		cf.t.Fatal(err)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: cf.t.TempDir(), Cache: cf.cache,
		Build: "test-build", Numerics: "test-numerics", Logger: testLogger(cf.t)})
	if err != nil || rec.Status != pipeline.RunSucceeded {
		cf.t.Fatalf("run: %v %s %s", err, rec.Status, rec.Error)
	}
	ran := map[string]int{}
	for _, p := range exectest.CachePaths {
		if n := cf.kit.Runs(p) - before[p]; n > 0 {
			ran[p] = n
		}
	}
	return rec, ran
}

// ranExactly checks which emit stages ran.
func ranExactly(t *testing.T, ran map[string]int, want ...string) {
	t.Helper()
	for _, p := range exectest.CachePaths {
		should := false
		for _, w := range want {
			should = should || w == p
		}
		if (ran[p] > 0) != should {
			t.Errorf("stage %s ran %d times, want it to run: %v (ran: %v)", p, ran[p], should, ran)
		}
	}
}

func TestCacheFileChangeInvalidates(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	first, _ := cf.run()
	data := filepath.Join(filepath.Dir(cf.file), "data.txt")
	if err := os.WriteFile(data, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, ran := cf.run()
	ranExactly(t, ran, "f", "vol")
	f1, f2 := stage(t, first, "f").Files, stage(t, second, "f").Files
	if len(f1) != 1 || len(f2) != 1 || f1[0].Path != data || f1[0].Digest == f2[0].Digest {
		t.Errorf("file records %v and %v", f1, f2)
	}
	if err := os.WriteFile(data, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ran = cf.run()
	ranExactly(t, ran, "vol") // the first contents' entry is still there
}

// entryOf finds the cache entry file that the stage instance path made.
func entryOf(t *testing.T, c *pipeline.Cache, path string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.Dir(), "entries", "*", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Entry struct{ Path string } }
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if e.Entry.Path == path {
			return f
		}
	}
	t.Fatalf("no cache entry for %s among %d", path, len(files))
	return ""
}

// objectOf finds the cache object holding the number with value v.
func objectOf(t *testing.T, c *pipeline.Cache, digest string) string {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(c.Dir(), "objects", "*", "*", "artifact.json"))
	for _, m := range metas {
		if b, err := os.ReadFile(m); err == nil && strings.Contains(string(b), `"`+digest+`"`) {
			return filepath.Dir(m)
		}
	}
	t.Fatalf("no cache object with digest %s among %d", digest, len(metas))
	return ""
}

func TestCacheDamagedEntriesAreRecomputed(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	first, _ := cf.run()
	// c's entry: a metric changed in place (still valid JSON).
	ce := entryOf(t, cf.cache, "c")
	b, _ := os.ReadFile(ce)
	if !strings.Contains(string(b), `"w": 10`) {
		t.Fatalf("entry %s: %s", ce, b)
	}
	if err := os.WriteFile(ce, []byte(strings.Replace(string(b), `"w": 10`, `"w": 11`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// f's entry: truncated.
	fe := entryOf(t, cf.cache, "f")
	if err := os.Truncate(fe, 40); err != nil {
		t.Fatal(err)
	}
	// b's artifact: its file rewritten with another number. m[0]/s made
	// an equal artifact (a + 1), stored once: it finds the object damaged
	// or missing and is recomputed too, unless b has already stored it
	// again (they run concurrently); either way its result is right.
	ob := objectOf(t, cf.cache, stage(t, first, "b").Artifacts["number"].Digest)
	if err := os.WriteFile(filepath.Join(ob, "value.txt"), []byte("99"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, ran := cf.run()
	delete(ran, "m[0]/s")
	ranExactly(t, ran, "b", "c", "f", "vol")
	for _, p := range []string{"b", "c", "f", "d", "m[0]/s"} {
		if g, w := stage(t, second, p).Metrics, stage(t, first, p).Metrics; g["value"] != w["value"] || g["w"] != w["w"] {
			t.Errorf("%s: metrics %v, want %v", p, g, w)
		}
	}
	// The damaged entries were replaced: a third run reuses them.
	_, ran = cf.run()
	ranExactly(t, ran, "vol")
}

func TestCacheGC(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	cf.run("v=2")
	cf.run("v=3")
	cf.run("v=3", "w=4") // the last run: entries of v=3 and w=4
	dry, err := cf.cache.GC(pipeline.GCOptions{KeepLast: 1, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cf.cache.GC(pipeline.GCOptions{KeepLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dry, rep) || rep.Runs != 3 || rep.RunsRemoved != 2 || rep.EntriesRemoved == 0 || rep.ObjectsRemoved == 0 || rep.BytesRemoved == 0 {
		t.Errorf("gc report %+v, dry run %+v", rep, dry)
	}
	// What the last run used is still there, and only that.
	_, ran := cf.run("v=3", "w=4")
	ranExactly(t, ran, "vol")
	_, ran = cf.run("v=2")
	ranExactly(t, ran, "a", "b", "c", "d", "l[0]/step", "l[1]/step", "l[2]/step", "m[0]/s", "m[1]/s", "vol")
	if rep, err = cf.cache.GC(pipeline.GCOptions{KeepLast: 0}); err != nil || rep.EntriesRemoved != rep.Entries || rep.ObjectsRemoved != rep.Objects {
		t.Errorf("keep-last 0: %+v %v", rep, err)
	}
	left, _ := filepath.Glob(filepath.Join(cf.cache.Dir(), "*", "*", "*"))
	if len(left) != 0 {
		t.Errorf("left after keep-last 0: %v", left)
	}
}

// Files that are not the cache's (a README someone put in, a file where a
// shard directory belongs) are reported and left alone: gc neither fails
// on them nor removes them. Temporaries of killed writers are removed.
func TestCacheGCLeavesUnknownFiles(t *testing.T) {
	cf := newCacheFixture(t, exectest.CacheRecipe)
	cf.run()
	dir := cf.cache.Dir()
	shard, _ := filepath.Glob(filepath.Join(dir, "objects", "*"))
	if len(shard) == 0 {
		t.Fatal("no objects")
	}
	stray := []string{
		filepath.Join(dir, "entries", "README"),
		filepath.Join(shard[0], "notes.txt"),
		filepath.Join(dir, "runs", "notes.txt"),
	}
	for _, p := range stray {
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(shard[0], fsx.TempPrefix("obj")+"1")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := cf.cache.GC(pipeline.GCOptions{KeepLast: 0})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(stray)
	slices.Sort(rep.Unknown)
	if !slices.Equal(rep.Unknown, stray) || rep.TempRemoved != 1 || rep.EntriesRemoved != rep.Entries || rep.Entries == 0 {
		t.Errorf("gc report %+v, want unknown %v and 1 temporary", rep, stray)
	}
	for _, p := range stray {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("gc removed %s: %v", p, err)
		}
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary %s left: %v", tmp, err)
	}
}
