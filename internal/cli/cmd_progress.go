package cli

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"

	"lopper/eval"
	"lopper/pruning"
)

// isTerminal reports whether w is a terminal, where commands show
// progress; tests replace it.
var isTerminal = defaultIsTerminal

func defaultIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressLines starts a progress line about what; finish ends it.
type progressLines func(what string) (progress eval.ProgressFunc, finish func())

// progressOn returns progress lines on w, "lopper CMD: what done/total
// (pct%)" rewritten in place, when w is a terminal; otherwise lines that
// show nothing.
func progressOn(w io.Writer, cmd string) progressLines {
	if !isTerminal(w) {
		return func(string) (eval.ProgressFunc, func()) { return nil, func() {} }
	}
	return func(what string) (eval.ProgressFunc, func()) {
		return eval.ProgressLine(w, "lopper "+cmd+": "+what, 200*time.Millisecond)
	}
}

// pruneProgress shows pruning's phases on lines: each phase (a new unit,
// or a count starting again at 0) gets its own line, named by its unit.
// finish ends the last line; call it once pruning returns.
func pruneProgress(lines progressLines) (progress pruning.ProgressFunc, finish func()) {
	started, unit := false, ""
	var cur eval.ProgressFunc
	end := func() {}
	progress = func(done, total int, u string) {
		if !started || u != unit || done == 0 {
			end()
			cur, end = lines(u)
			started, unit = true, u
		}
		if cur != nil {
			cur(done, total)
		}
	}
	return progress, func() { end() }
}
