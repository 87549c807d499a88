package cli

import (
	"context"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lopper/model"
	"lopper/pipeline"
)

// A `lopper run` killed (SIGKILL) at random points leaves no partially
// written file under its final name, in the run directory or the cache,
// and `lopper run --resume` then completes it with the same result as an
// uninterrupted run. Each kill gets a fresh cache, so it lands in work
// that is really being done: loading, pruning, training, evaluating,
// writing the cache, saving.
func TestKilledRunsResumeToTheSameResult(t *testing.T) {
	recipe, set := reproFixture(t)
	kills := 5
	if testing.Short() {
		kills = 2
	}
	refOut := t.TempDir()
	start := time.Now()
	runChild(t, nil, append([]string{"run", recipe, "--out", refOut, "--cache-dir", filepath.Join(t.TempDir(), "cache")}, set...)...)
	full := time.Since(start)
	want := outcome(t, onlyRun(t, refOut))

	seed := uint64(time.Now().UnixNano())
	t.Logf("uninterrupted run: %v; kill times drawn with seed %d", full, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	interrupted := 0
	for k := range kills {
		out, cache := t.TempDir(), filepath.Join(t.TempDir(), "cache")
		cmd, log := child(nil, append([]string{"run", recipe, "--out", out, "--cache-dir", cache}, set...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		at := time.Duration((0.1 + 0.7*rng.Float64()) * float64(full)) // the first, cold run is the slowest
		time.Sleep(at)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		killed := err != nil && strings.Contains(err.Error(), "killed")
		t.Logf("kill %d after %v: %v; its last log line: %s", k, at, err, lastLine(log.String()))
		checkVisibleFiles(t, out, cache)
		runs, _ := filepath.Glob(filepath.Join(out, "*", pipeline.RecordFile))
		if len(runs) == 0 {
			t.Logf("kill %d came before the run recorded anything:\n%s", k, log)
			continue
		}
		dir := filepath.Dir(runs[0])
		before := readRunRecord(t, dir)
		if killed && before.Status == pipeline.RunRunning {
			interrupted++
		}
		t.Logf("kill %d: run %s, stages running: %v", k, before.Status, running(before))
		runChild(t, nil, "run", "--resume", dir)
		sameOutcome(t, "resumed run", outcome(t, dir), want)
		after := readRunRecord(t, dir)
		if before.Status != pipeline.RunSucceeded {
			finishedComeFromTheCache(t, before, after)
		}
		attempt := before.Status // as recorded, or interrupted when the kill left it "running"
		if attempt == pipeline.RunRunning {
			attempt = pipeline.RunInterrupted
		}
		if before.Status != pipeline.RunSucceeded && (len(after.Resumed) != 1 || after.Resumed[0].Status != attempt) {
			t.Errorf("kill %d: the resumed record's attempts %+v, the killed run was %s", k, after.Resumed, before.Status)
		}
		checkVisibleFiles(t, out, cache)
		if left := temporaries(t, out, cache); len(left) != 0 {
			t.Errorf("kill %d: temporaries left after the resume: %v", k, left)
		}
	}
	if interrupted == 0 {
		t.Errorf("no kill interrupted a run (of %d)", kills)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// running lists the stage instances a record shows running.
func running(rec *pipeline.RunRecord) []string {
	var out []string
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Status == pipeline.StageRunning {
			out = append(out, s.Path)
		}
	})
	return out
}

// finishedComeFromTheCache checks that the resumed run took every cachable
// stage instance that had finished before the kill from the cache.
func finishedComeFromTheCache(t *testing.T, before, after *pipeline.RunRecord) {
	t.Helper()
	status := map[string]pipeline.StageStatus{}
	after.Walk(func(s *pipeline.StageRecord) { status[s.Path] = s.Status })
	before.Walk(func(s *pipeline.StageRecord) {
		done := s.Status == pipeline.StageSucceeded || s.Status == pipeline.StageCached
		if done && s.CacheKey != "" && status[s.Path] != pipeline.StageCached {
			t.Errorf("%s finished before the kill but was %s when resumed", s.Path, status[s.Path])
		}
	})
}

// checkVisibleFiles reads back every file that has its final name (not a
// dot name: temporary files may be left by a kill) in a run's output and
// cache: run records parse, saved models load, the cache verifies.
func checkVisibleFiles(t *testing.T, out, cache string) {
	t.Helper()
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.Name() == pipeline.RecordFile:
			var rec pipeline.RunRecord
			b, err := os.ReadFile(p)
			if err != nil || json.Unmarshal(b, &rec) != nil || rec.Schema != pipeline.RecordSchema {
				t.Errorf("%s does not read back: %v (%d bytes)", p, err, len(b))
			}
		case d.IsDir() && d.Name() == "model":
			if _, err := model.Load(p, model.LoadOptions{CheckFinite: true}); err != nil {
				t.Errorf("saved model %s does not load: %v", p, err)
			}
			meta, err := os.ReadFile(filepath.Join(p, "lopper.json"))
			if err != nil || !json.Valid(meta) {
				t.Errorf("%s/lopper.json: %v", p, err)
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); err != nil {
		return // killed before the cache was opened
	}
	c, err := pipeline.OpenCache(cache)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Verify(context.Background(), defaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("cache: %s", p)
	}
}
