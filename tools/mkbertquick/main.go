// Command mkbertquick makes the encoder quickstart: the synthetic review
// task (package internal/synth: short film reviews with negation, labelled
// negative or positive by the majority of their clauses) as GLUE-style
// TSV files, a WordPiece tokenizer over its vocabulary, and a tiny
// BertForSequenceClassification trained on it from a seeded random
// initialisation by lopper's classifier training loop
// (train.TrainClassifier). The output is what recipes/bert-gradual.yaml
// prunes:
//
//	quickstart/bert/train.tsv   training reviews ("sentence\tlabel", labels by name)
//	quickstart/bert/dev.tsv     held-out reviews, never in train.tsv
//	quickstart/bert/model/      Hugging Face directory (BertForSequenceClassification)
//
// Usage, from the repository root:
//
//	go run ./tools/mkbertquick [-out quickstart/bert] [-data-only]
//
// The same settings give the same bytes: the data depend only on the seed,
// the model on the data, the seed and lopper's deterministic training. It
// takes well under a minute; every setting and the model's dev accuracy
// are recorded in model/lopper.json, and nothing is written unless the
// model reaches the settings' bar.
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
	fs := flag.NewFlagSet("mkbertquick", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "quickstart/bert", "write the data and model/ into `DIR`")
	dataOnly := fs.Bool("data-only", false, "write the data files only, not the model")
	s := defaultSettings()
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "`seed` of the data, the initial weights and the batches (the default makes the committed files)")
	fs.IntVar(&s.Train.Steps, "steps", s.Train.Steps, "training `steps` (the default makes the committed model)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mkbertquick: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := generate(ctx, s, *out, !*dataOnly, stdout); err != nil {
		fmt.Fprintf(stderr, "mkbertquick: %v\n", err)
		return 1
	}
	return 0
}
