package cli

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// `lopper run --temporal` and `lopper worker` refuse what cannot work
// before they reach for a server: a run without a store its workers
// share, a namespace without Temporal, a worker without a server, bad
// queue names.
func TestTemporalUsage(t *testing.T) {
	ctx := context.Background()
	f := recipeFile(t, "t.yaml", statusRecipe)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", f, "--temporal", "127.0.0.1:7233"}, "--temporal needs --store URL"},
		{[]string{"run", f, "--temporal", "127.0.0.1:7233", "--cache-dir", t.TempDir()}, "not --cache-dir or --no-cache"},
		{[]string{"run", f, "--temporal", "127.0.0.1:7233", "--no-cache"}, "not --cache-dir or --no-cache"},
		{[]string{"run", f, "--namespace", "x"}, "--namespace is for --temporal"},
		{[]string{"worker"}, "--temporal HOST:PORT is required"},
		{[]string{"worker", "--temporal", "127.0.0.1:7233", "--queue", "two words"}, `--queue: "two words": a task queue's name`},
		{[]string{"worker", "--temporal", "127.0.0.1:7233", "--jobs", "0"}, "--jobs must be at least 1"},
		{[]string{"worker", "--temporal", "127.0.0.1:7233", "--store", "ftp://x"}, "--store:"},
		{[]string{"worker", "--temporal", "127.0.0.1:7233", "extra"}, "unexpected arguments"},
	} {
		code, _, errs := lopper(ctx, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("lopper %s: code %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), code, errs, c.want)
		}
	}
}

// Without a server to talk to, a run on Temporal fails at once, saying
// where it looked, and creates no run directory.
func TestRunTemporalUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	f := recipeFile(t, "t.yaml", statusRecipe)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, _, errs := lopper(ctx, "run", f, "--out", out, "--temporal", addr, "--store", "file://"+t.TempDir())
	if code != exitFailed || !strings.Contains(errs, "cannot reach Temporal at "+addr) {
		t.Errorf("code %d, stderr %q", code, errs)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a run that could not start left %d entries in --out", len(entries))
	}
}
