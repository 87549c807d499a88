// Command mkquickstart makes the quickstart's model and data: a synthetic
// two-digit arithmetic task (package internal/synth) written as text, and a
// small Llama-style model trained on it from a seeded random
// initialisation by lopper's own training loop (package train). The output
// is what recipes/quickstart.yaml prunes and retrains:
//
//	quickstart/train.txt       training problems, one a line ("17 + 42 = 59")
//	quickstart/eval.txt        held-out problems, never in train.txt
//	quickstart/choices.jsonl   multiple-choice tasks over held-out problems
//	quickstart/model/          Hugging Face directory (LlamaForCausalLM)
//
// Usage, from the repository root:
//
//	go run ./tools/mkquickstart [-out quickstart] [-data-only]
//
// The same settings give the same bytes: the data depend only on the seed,
// the model on the data, the seed and lopper's deterministic training
// (bit-identical for any number of cores). Training takes a few minutes on
// two cores; -data-only rewrites just the data, in a second. Every setting
// is recorded in model/lopper.json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command; it returns the exit code (0 made, 1 failed, 2 usage).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkquickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "quickstart", "write the data and model/ into `DIR`")
	dataOnly := fs.Bool("data-only", false, "write the data files only, not the model")
	s := defaultSettings()
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "`seed` of the data and the initial weights (the default makes the committed files)")
	fs.IntVar(&s.Train.Steps, "steps", s.Train.Steps, "training `steps` (the default makes the committed model)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mkquickstart: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := generate(ctx, s, *out, !*dataOnly, stdout); err != nil {
		fmt.Fprintf(stderr, "mkquickstart: %v\n", err)
		return 1
	}
	return 0
}
