package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"lopper/eval"
)

// Each phase of pruning gets its own progress line, named by its unit,
// and the last is cleared at the end.
func TestPruneProgressLines(t *testing.T) {
	var buf bytes.Buffer
	lines := func(what string) (eval.ProgressFunc, func()) {
		return eval.ProgressLine(&buf, "lopper prune: "+what, 0)
	}
	progress, finish := pruneProgress(lines)
	for _, c := range []struct {
		done, total int
		unit        string
	}{{0, 4, "calibration windows"}, {2, 4, "calibration windows"}, {4, 4, "calibration windows"}, {0, 2, "blocks"}, {1, 2, "blocks"}, {2, 2, "blocks"}} {
		progress(c.done, c.total, c.unit)
	}
	finish()
	want := "\rlopper prune: calibration windows 0/4 (0%)\033[K\rlopper prune: calibration windows 2/4 (50%)\033[K" +
		"\rlopper prune: calibration windows 4/4 (100%)\033[K\r\033[K" +
		"\rlopper prune: blocks 0/2 (0%)\033[K\rlopper prune: blocks 1/2 (50%)\033[K\rlopper prune: blocks 2/2 (100%)\033[K\r\033[K"
	if buf.String() != want {
		t.Errorf("progress output %q\nwant %q", buf.String(), want)
	}
}

// On a terminal, lopper prune shows its progress on stderr; elsewhere it
// shows none.
func TestPruneCLIProgress(t *testing.T) {
	model := repoPath("quickstart", "model")
	args := []string{"prune", "--log-level", "error", "--model", model, "--method", "wanda", "--sparsity", "0.5",
		"--calib", repoPath("quickstart", "train.txt"), "--calib-samples", "4", "--calib-seq-len", "32"}
	run := func(terminal bool) string {
		t.Helper()
		isTerminal = func(io.Writer) bool { return terminal }
		defer func() { isTerminal = defaultIsTerminal }()
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), append(args, "--out", filepath.Join(t.TempDir(), "p")), &out, &errb); code != exitOK {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		return errb.String()
	}
	if got := run(true); !strings.Contains(got, "lopper prune: blocks 2/2 (100%)") {
		t.Errorf("on a terminal, stderr %q lacks the finished blocks", got)
	}
	if got := run(false); got != "" {
		t.Errorf("off a terminal, stderr %q", got)
	}
}
