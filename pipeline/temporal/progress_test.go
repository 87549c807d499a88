package temporal

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/temporal/temporaltest"
)

// syncBuffer is a log written by several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The run's progress lines show what the running stages heartbeat, as a
// local run shows their progress: under the stage's name, with its scope,
// at info level when first seen, when done and every 10 s, else at debug
// level; a heartbeat that shows nothing new is not shown again, nor one
// of this process's own stages (they log theirs themselves).
func TestProgressLog(t *testing.T) {
	var buf syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug, DisableTime: true})
	p := newProgressLog(log, "me")
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	beat := func(done int) Heartbeat {
		return Heartbeat{Stage: "prune", Path: "sweep[1]/prune", Scope: runner.List{"branch", 1}, Worker: "w1", Attempt: 1, Done: done, Total: 4, Unit: "layers"}
	}
	p.show([]Heartbeat{{Stage: "s", Path: "s", Worker: "w1"}, beat(1), {Stage: "mine", Path: "mine", Worker: "me", Done: 1, Total: 2, Unit: "steps"}})
	now = now.Add(time.Second)
	p.show([]Heartbeat{beat(1)})
	p.show([]Heartbeat{beat(2)})
	now = now.Add(10 * time.Second)
	p.show([]Heartbeat{beat(3)})
	p.show([]Heartbeat{beat(4)})
	want := `[INFO]  prune: progress: branch=1 done=1 total=4 unit=layers percent=25 worker=w1
[DEBUG] prune: progress: branch=1 done=2 total=4 unit=layers percent=50 worker=w1
[INFO]  prune: progress: branch=1 done=3 total=4 unit=layers percent=75 worker=w1
[INFO]  prune: progress: branch=1 done=4 total=4 unit=layers percent=100 worker=w1
`
	if got := buf.String(); got != want {
		t.Errorf("progress lines:\n%s\nwant\n%s", got, want)
	}
}

// A run on a real server shows a worker's stage's progress as it goes,
// from the heartbeats the server holds.
func TestProgressOnDevServer(t *testing.T) {
	srv := temporaltest.DevServer(t)
	c := srv.Client()
	r, _, _ := load(t, `version: 1
stages:
  slow: {uses: steps, with: {n: 6, every: 400ms}}
`)
	cache := serveOne(t, c, WorkerOptions{Jobs: 1, Activities: &Activities{Registry: r.Registry(), Build: "e2e-progress", Numerics: "n", Identity: "w"}})
	var buf syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug, DisableTime: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := Run(ctx, c, r, runner.Options{OutDir: t.TempDir(), Cache: cache, Build: "e2e-progress", Numerics: "n", Logger: log},
		Options{Heartbeat: time.Second, Poll: 50 * time.Millisecond, ProgressPoll: 100 * time.Millisecond})
	if err != nil || rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run: %v %v %s\n%s", err, rec.Status, rec.Error, buf.String())
	}
	lines := regexp.MustCompile(`slow: progress: done=(\d) total=6 unit=steps percent=\d+ worker=w`).FindAllStringSubmatch(buf.String(), -1)
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l[1]] = true
	}
	if len(seen) < 2 {
		t.Errorf("the run showed %d progress lines of stage slow (%v), want at least two steps:\n%s", len(lines), seen, buf.String())
	}
}
