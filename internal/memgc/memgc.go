// Package memgc is the garbage collector setting of the lopper processes
// that hold large models. Go lets the heap grow GOGC % (100 by default)
// past the live data before it collects; pruning and evaluation make
// garbage all along (per-block statistics, per-batch buffers), so with the
// default a command's peak is up to twice its live data. For models whose
// float32 weights take From bytes or more, lopper lowers GOGC to Percent:
// the collector runs more often, which costs little here because the
// weights are pointer-free and are not scanned. A GOGC environment
// variable set by the user always wins.
package memgc

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

const (
	// Percent is the GOGC lopper uses for large models.
	Percent = 20
	// From is the size of float32 weights from which it does.
	From = 64 << 20
)

// For returns the GOGC that applies to a process holding weights bytes of
// float32 weights: the GOGC environment variable when set (0 for "off",
// whose headroom no estimate can bound), else Percent from From bytes on,
// else Go's default of 100.
func For(weights int64) int {
	if v, ok := os.LookupEnv("GOGC"); ok {
		if strings.EqualFold(v, "off") {
			return 0
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
		return 100 // what the runtime does with a value it cannot read
	}
	if weights >= From {
		return Percent
	}
	return 100
}

// Tune sets the process's GOGC to For(weights) unless the user set GOGC or
// the process already runs with a lower setting (one that loads several
// models keeps the lowest), and returns the setting in force.
func Tune(weights int64) int {
	want := For(weights)
	if _, user := os.LookupEnv("GOGC"); user {
		return want
	}
	if old := debug.SetGCPercent(want); old >= 0 && old < want {
		debug.SetGCPercent(old)
		return old
	}
	return want
}
