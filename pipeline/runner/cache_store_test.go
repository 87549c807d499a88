package runner_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/store/storetest"
)

// The cache behaves the same in every kind of store: a local directory, a
// file:// bucket, a mem:// bucket and S3 (gofakes3 on 127.0.0.1).

// storeFixture is exectest.CacheRecipe with its cache in one backend; each run
// opens the store anew, as another lopper process (or machine) would.
type storeFixture struct {
	*cacheFixture
	b *storetest.Backend
}

func newStoreFixture(t *testing.T, b *storetest.Backend) *storeFixture {
	t.Helper()
	f := writeRecipe(t, exectest.CacheRecipe)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f), "data.txt"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &storeFixture{cacheFixture: &cacheFixture{t: t, kit: pipelinetest.New(), file: f}, b: b}
}

func (sf *storeFixture) run(set ...string) (*pipeline.RunRecord, map[string]int) {
	sf.t.Helper()
	sf.cache = pipeline.NewCache(sf.b.Open(sf.t))
	return sf.cacheFixture.run(set...)
}

// eachStore runs f with a fixture on every backend.
func eachStore(t *testing.T, f func(t *testing.T, sf *storeFixture)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, newStoreFixture(t, b)) })
	}
}

// rawWrite replaces what the store holds under name, behind its back.
func (sf *storeFixture) rawWrite(name string, data []byte) {
	sf.t.Helper()
	var err error
	if sf.b.Raw != nil {
		err = sf.b.Raw.WriteAll(context.Background(), name, data, nil)
	} else {
		err = os.WriteFile(filepath.Join(sf.b.Root, filepath.FromSlash(name)), data, 0o644)
	}
	if err != nil {
		sf.t.Fatal(err)
	}
}

// rawRead reads what the store holds under name.
func (sf *storeFixture) rawRead(name string) []byte {
	sf.t.Helper()
	var b []byte
	var err error
	if sf.b.Raw != nil {
		b, err = sf.b.Raw.ReadAll(context.Background(), name)
	} else {
		b, err = os.ReadFile(filepath.Join(sf.b.Root, filepath.FromSlash(name)))
	}
	if err != nil {
		sf.t.Fatal(err)
	}
	return b
}

// entryName is where the entry of a cache key is.
func entryName(key string) string {
	h := strings.TrimPrefix(key, "sha256:")
	return "entries/" + h[:2] + "/" + h + ".json"
}

// objectFile is where the object of an artifact keeps its file called
// file: in a directory, in the object's directory; in a bucket, below its
// writer's.
func (sf *storeFixture) objectFile(a pipeline.ArtifactRecord, file string) string {
	sf.t.Helper()
	sum := sha256.Sum256([]byte(a.Kind + "\n" + a.Digest))
	name := "objects/" + hex.EncodeToString(sum[:1]) + "/" + hex.EncodeToString(sum[:])
	if sf.b.Raw == nil {
		return name + "/" + file
	}
	items, err := sf.b.Open(sf.t).List(context.Background(), name)
	if err != nil || len(items) != 2 || !items[0].Dir {
		sf.t.Fatalf("object %s holds %v (%v), want its writer's files and its seal", name, items, err)
	}
	return name + "/" + items[0].Name + "/" + file
}

func TestCacheInEveryStore(t *testing.T) {
	eachStore(t, func(t *testing.T, sf *storeFixture) {
		first, ran := sf.run()
		ranExactly(t, ran, exectest.CachePaths...)
		second, ran := sf.run()
		ranExactly(t, ran, "vol")
		for _, p := range exectest.CachePaths {
			if p == "vol" {
				continue
			}
			s := stage(t, second, p)
			m1, _ := json.Marshal(stage(t, first, p).Metrics)
			m2, _ := json.Marshal(s.Metrics)
			if s.Status != pipeline.StageCached || string(m1) != string(m2) {
				t.Errorf("%s: %s with metrics %s, first run %s", p, s.Status, m2, m1)
			}
		}
		if d1, d2 := stage(t, first, "l").Artifacts["number"], stage(t, second, "l").Artifacts["number"]; d1 != d2 {
			t.Errorf("loop artifact %v, first run %v", d2, d1)
		}
		// The record says where the cache was, for --resume.
		if sf.b.URL != "" && (second.Store != sf.b.URL || second.CacheDir != "") {
			t.Errorf("record: store %q cache_dir %q, want store %q", second.Store, second.CacheDir, sf.b.URL)
		}
		if sf.b.Name == "dir" && (second.Store != "" || second.CacheDir != sf.b.Root) {
			t.Errorf("record: store %q cache_dir %q, want cache_dir %q", second.Store, second.CacheDir, sf.b.Root)
		}
		if left := sf.b.ScratchLeft(t); len(left) != 0 {
			t.Errorf("scratch directory holds %v", left)
		}
	})
}

// A damaged artifact and a damaged entry are detected, by the seal's
// digests (a bucket) or by decoding (a directory), and recomputed; the
// next run reuses what replaced them.
func TestCacheInEveryStoreRecomputesDamage(t *testing.T) {
	eachStore(t, func(t *testing.T, sf *storeFixture) {
		first, _ := sf.run()
		// b's number (a+1 = 2), rewritten as another number of the same
		// length. m[0]/s made an equal artifact, stored once, so either of
		// them may be the one that finds the object damaged; either way
		// the results are right.
		f := sf.objectFile(stage(t, first, "b").Artifacts["number"], "value.txt")
		if got := string(sf.rawRead(f)); got != "2" {
			t.Fatalf("%s holds %q, want 2", f, got)
		}
		sf.rawWrite(f, []byte("9"))
		// c's entry: a metric changed in place (still valid JSON).
		e := entryName(stage(t, first, "c").CacheKey)
		sf.rawWrite(e, []byte(strings.Replace(string(sf.rawRead(e)), `"w": 10`, `"w": 11`, 1)))
		v, err := sf.cache.Verify(context.Background(), registry(sf.kit))
		if err != nil || len(v.Problems) != 2 {
			t.Errorf("verify: %v %v, want the object and the entry", v, err)
		}
		second, ran := sf.run()
		// b and m[0]/s run concurrently: the first to look finds the
		// object damaged and recomputes it; the other may then find it
		// whole again.
		if ran["b"]+ran["m[0]/s"] == 0 {
			t.Errorf("neither b nor m[0]/s recomputed the damaged object (ran: %v)", ran)
		}
		delete(ran, "m[0]/s")
		delete(ran, "b")
		ranExactly(t, ran, "c", "vol")
		for _, p := range []string{"b", "c", "d", "m[0]/s"} {
			if g, w := stage(t, second, p).Metrics, stage(t, first, p).Metrics; g["value"] != w["value"] || g["w"] != w["w"] {
				t.Errorf("%s: metrics %v, want %v", p, g, w)
			}
		}
		// When b and m[0]/s both found the damage, one may have removed the
		// object the other had just stored again: a bucket has no
		// compare-and-delete. Then the next run recomputes it once more
		// (a miss, never a wrong result), and the one after reuses it.
		runs := 3
		if _, ran = sf.run(); ran["b"]+ran["m[0]/s"] > 0 {
			delete(ran, "m[0]/s")
			delete(ran, "b")
			ranExactly(t, ran, "vol")
			_, ran = sf.run()
			runs++
		}
		ranExactly(t, ran, "vol")
		if v, err := sf.cache.Verify(context.Background(), registry(sf.kit)); err != nil || len(v.Problems) != 0 || v.Entries == 0 || v.Objects == 0 || v.Runs != runs {
			t.Errorf("verify after the repair: %+v %v", v, err)
		}
	})
}

func TestCacheGCInEveryStore(t *testing.T) {
	eachStore(t, func(t *testing.T, sf *storeFixture) {
		sf.run("v=2")
		sf.run("v=3")
		sf.run("v=3", "w=4")
		// Within the grace period nothing goes: a run elsewhere may be
		// using it.
		young, err := sf.cache.GC(pipeline.GCOptions{KeepLast: 1, Grace: time.Hour})
		if err != nil || young.RunsRemoved+young.EntriesRemoved+young.ObjectsRemoved != 0 || young.Young == 0 {
			t.Errorf("gc with grace: %+v %v", young, err)
		}
		rep, err := sf.cache.GC(pipeline.GCOptions{KeepLast: 1})
		if err != nil || rep.Runs != 3 || rep.RunsRemoved != 2 || rep.EntriesRemoved == 0 || rep.ObjectsRemoved == 0 || rep.BytesRemoved == 0 || len(rep.Unknown) != 0 {
			t.Errorf("gc report %+v %v", rep, err)
		}
		_, ran := sf.run("v=3", "w=4")
		ranExactly(t, ran, "vol")
		_, ran = sf.run("v=2")
		ranExactly(t, ran, "a", "b", "c", "d", "l[0]/step", "l[1]/step", "l[2]/step", "m[0]/s", "m[1]/s", "vol")
		// A writer killed before it sealed its object (a bucket's): not an
		// object to verify, but gc's to remove.
		half := "objects/ee/" + strings.Repeat("e", 64) + "/0123456789abcdef/value.txt"
		if sf.b.Raw != nil {
			sf.rawWrite(half, []byte("1"))
			if v, err := sf.cache.Verify(context.Background(), registry(sf.kit)); err != nil || len(v.Problems) != 0 {
				t.Errorf("verify with a killed writer's files: %+v %v", v, err)
			}
		}
		if rep, err = sf.cache.GC(pipeline.GCOptions{KeepLast: 0}); err != nil || rep.EntriesRemoved != rep.Entries || rep.ObjectsRemoved != rep.Objects {
			t.Errorf("keep-last 0: %+v %v", rep, err)
		}
		if sf.b.Raw != nil {
			if ok, err := sf.b.Raw.Exists(context.Background(), half); ok || err != nil {
				t.Errorf("gc left the killed writer's %s: %v", half, err)
			}
		}
		if v, err := sf.cache.Verify(context.Background(), registry(sf.kit)); err != nil || v.Entries+v.Objects+v.Runs != 0 {
			t.Errorf("left after keep-last 0: %+v %v", v, err)
		}
	})
}
