// Command benchmem measures the memory and time of lopper's commands on
// the benchmark checkpoints (tools/mkbench) and draws the curve for
// BENCHMARKS.md's "Memory" section. It is a benchmark, not a test: nothing
// runs it in CI.
//
// Measure: each command runs as a child process of a built lopper binary,
// one at a time; its peak resident set (the kernel's ru_maxrss of the
// child, which is /proc/PID/status VmHWM at exit) and wall time are
// appended to a JSON file with lopper's own estimate for the command.
//
//	go build -o /tmp/lopper . && go run ./tools/mkbench -shape 110m -out /tmp/b/110m -text /tmp/b/text.txt
//	go run ./tools/benchmem -lopper /tmp/lopper -text /tmp/b/text.txt -label after \
//	    -checkpoint 110m=/tmp/b/110m -results docs/bench/memory.json
//
// Plot: fit peak RSS and wall time per command against the parameter count
// (least squares, RSS = a·P + b), extrapolate to 7 B and 70 B, and write
// the SVGs and a Markdown table:
//
//	go run ./tools/benchmem -plot -results docs/bench/memory.json -label after -plots docs/bench
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// repeated is a repeatable string flag.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	var o runOptions
	var checkpoints repeated
	plot := flag.Bool("plot", false, "fit and plot the results instead of measuring")
	flag.StringVar(&o.Results, "results", "docs/bench/memory.json", "results `FILE` (JSON), appended to when measuring")
	flag.StringVar(&o.Label, "label", "", "label of this sitting's results, e.g. before or after (required)")
	flag.StringVar(&o.Lopper, "lopper", "", "the lopper `BINARY` to measure (required when measuring)")
	flag.StringVar(&o.Text, "text", "", "calibration and evaluation text `FILE` (required when measuring)")
	flag.Var(&checkpoints, "checkpoint", "`NAME=DIR` of a checkpoint to measure (repeatable)")
	flag.StringVar(&o.Commands, "commands", strings.Join(commandNames(), ","), "comma-separated commands to run")
	flag.IntVar(&o.SeqLen, "seq-len", 512, "calibration and evaluation window length")
	flag.IntVar(&o.Samples, "samples", 4, "calibration windows and evaluation windows")
	flag.StringVar(&o.Scratch, "scratch", os.TempDir(), "`DIR` for the pruned models (removed after each run)")
	plots := flag.String("plots", "docs/bench", "with -plot: the `DIR` to write rss.svg and time.svg into")
	flag.Parse()
	var err error
	switch {
	case o.Label == "":
		err = fmt.Errorf("-label is required")
	case *plot:
		err = plotResults(o.Results, o.Label, *plots, os.Stdout)
	default:
		err = measure(o, checkpoints, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmem:", err)
		os.Exit(1)
	}
}
