// Command mkquickstart makes the quickstarts' models and data from
// synthetic tasks (package internal/synth), each model trained from a seeded
// random initialisation by lopper's own training loop (package train).
//
// By default, the language-model quickstart: a task of sorting five digits
// written as text, and a small Llama-style model trained on it, which
// recipes/quickstart.yaml prunes and retrains:
//
//	quickstart/train.txt       training problems, one a line ("sort 2 9 1 4 1 = 1 1 2 4 9")
//	quickstart/eval.txt        held-out problems, never in train.txt
//	quickstart/choices.jsonl   multiple-choice tasks over held-out problems
//	quickstart/model/          Hugging Face directory (LlamaForCausalLM)
//
// With -bert, the encoder quickstart (bert.go): labelled film reviews and a
// tiny BertForSequenceClassification, which recipes/bert-gradual.yaml
// prunes:
//
//	quickstart/bert/train.tsv, dev.tsv, model/
//
// Usage, from the repository root:
//
//	go run ./tools/mkquickstart [-bert] [-out DIR] [-data-only]
//
// The same settings give the same bytes: the data depend only on the seed,
// the model on the data, the seed and lopper's deterministic training
// (bit-identical for any number of cores). Training takes a few minutes on
// two cores (the encoder, well under a minute); -data-only rewrites just
// the data, in a second. Every setting and what the model scored are
// recorded in model/lopper.json, and nothing is written unless the model
// reaches its settings' bar.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
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
	out := fs.String("out", "", "write the data and model/ into `DIR` (default quickstart, with -bert quickstart/bert)")
	dataOnly := fs.Bool("data-only", false, "write the data files only, not the model")
	bert := fs.Bool("bert", false, "make the encoder quickstart (reviews and a tiny BERT classifier)")
	seed := fs.Uint64("seed", 1, "`seed` of the data, the initial weights and the batches (the default makes the committed files)")
	steps := fs.Int("steps", 0, "training `steps` (default: the committed model's)")
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
	var j job
	var err error
	dir := "quickstart"
	if *bert {
		s := defaultBERTSettings()
		s.Seed, dir = *seed, filepath.Join(dir, "bert")
		if *steps > 0 {
			s.Train.Steps = *steps
		}
		j, err = bertJob(s)
	} else {
		s := defaultSettings()
		s.Seed = *seed
		if *steps > 0 {
			s.Train.Steps = *steps
		}
		j, err = llamaJob(s)
	}
	if *out != "" {
		dir = *out
	}
	if err == nil {
		err = generate(ctx, j, dir, !*dataOnly, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mkquickstart: %v\n", err)
		return 1
	}
	return 0
}
