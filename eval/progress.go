package eval

import (
	"fmt"
	"io"
	"time"
)

// ProgressLine renders progress on one terminal line of w, rewritten in
// place (carriage return), at most every interval and always at the end.
// finish ends the line; call it once the evaluation returns. Use it only
// when w is a terminal.
func ProgressLine(w io.Writer, what string, interval time.Duration) (progress ProgressFunc, finish func()) {
	var last time.Time
	shown := false
	progress = func(done, total int) {
		now := time.Now()
		if done < total && now.Sub(last) < interval {
			return
		}
		last = now
		shown = true
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		// Write errors to a terminal are not actionable; progress is advisory.
		_, _ = fmt.Fprintf(w, "\r%s %d/%d (%.0f%%)\033[K", what, done, total, pct)
	}
	finish = func() {
		if shown {
			_, _ = fmt.Fprint(w, "\r\033[K")
		}
	}
	return progress, finish
}
