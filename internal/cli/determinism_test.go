package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// The same recipe, params, files and seed give bit-identical model files,
// identical metrics and artifact digests, and an identical lockfile, with
// one stage at a time on one core or four stages at once on four, and
// again when every stage comes from the cache.
func TestRunIsDeterministic(t *testing.T) {
	recipe, set := reproFixture(t)
	lock := runner.LockPath(recipe)
	cache := filepath.Join(t.TempDir(), "cache")
	var outcomes []map[string]string
	var locks []string
	for _, c := range []struct {
		procs, jobs string
		cache       []string
	}{
		{"1", "1", []string{"--no-cache"}},
		{"4", "4", []string{"--cache-dir", cache}},
		{"2", "2", []string{"--cache-dir", cache}}, // every stage cached
	} {
		out := t.TempDir()
		args := append([]string{"run", recipe, "--out", out, "--jobs", c.jobs}, append(set, c.cache...)...)
		runChild(t, []string{"GOMAXPROCS=" + c.procs}, args...)
		dir := onlyRun(t, out)
		outcomes = append(outcomes, outcome(t, dir))
		b, err := os.ReadFile(lock)
		if err != nil {
			t.Fatal(err)
		}
		locks = append(locks, string(b))
		rec := readRunRecord(t, dir)
		cached := 0
		rec.Walk(func(s *pipeline.StageRecord) {
			if s.Status == pipeline.StageCached {
				cached++
			}
		})
		if want := map[int]int{0: 0, 1: 0, 2: 11}[len(outcomes)-1]; cached != want {
			t.Errorf("run %d: %d stages cached, want %d", len(outcomes), cached, want)
		}
	}
	for i := 1; i < len(outcomes); i++ {
		sameOutcome(t, fmt.Sprintf("run %d", i+1), outcomes[i], outcomes[0])
		if locks[i] != locks[0] {
			t.Errorf("run %d wrote another lockfile:\n%s\n---\n%s", i+1, locks[i], locks[0])
		}
	}
	if len(outcomes[0]) < 20 {
		t.Errorf("only %d things compared: %v", len(outcomes[0]), outcomes[0])
	}
}
