package cli

import (
	"context"
	"flag"
	"fmt"

	"lopper/eval"
	"lopper/model"
)

// evalCommand is `lopper eval`.
func evalCommand() command {
	return command{
		name:    "eval",
		args:    "--model DIR (--text FILE | --hellaswag FILE | --choices FILE | --classify FILE) [flags]",
		summary: "measure perplexity, next-token, multiple-choice or task accuracy, size and speed of a model",
		help: "The evaluate stage of a recipe computes the same numbers with the same code.\n" +
			"On a terminal, progress is shown on stderr.\n" +
			"Exit codes: 0 measured, 1 failed (unreadable model or data), 2 bad usage, 130 interrupted.",
		example: "lopper eval --model quickstart/model --text quickstart/eval.txt\n" +
			"lopper eval --model quickstart/model --choices quickstart/choices.jsonl --size --json\n" +
			"lopper eval --model path/to/model --hellaswag hellaswag.txt --limit 500 --seed 1 --speed\n" +
			"lopper eval --model quickstart/bert/model --classify quickstart/bert/dev.tsv --json",
		run: runEval,
	}
}

// evalFlags are lopper eval's options.
type evalFlags struct {
	model, text, hellaswag, choices, classify string
	maxMemory                                 string
	seqLen, stride, limit, batch, maxLength   int
	seed                                      uint64
	seedSet, size, speed, json                bool
}

func runEval(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("eval")
	var f evalFlags
	fs.StringVar(&f.model, "model", "", "the Hugging Face model `DIR` (config.json, model.safetensors, tokenizer.json; required)")
	fs.StringVar(&f.text, "text", "", "perplexity and next-token accuracy on this UTF-8 text `FILE`")
	fs.StringVar(&f.hellaswag, "hellaswag", "", "multiple-choice accuracy on HellaSwag's 6-line text format `FILE`")
	fs.StringVar(&f.choices, "choices", "", `multiple-choice accuracy on a JSONL `+"`FILE`"+` of {"context", "choices", "label"}`)
	fs.StringVar(&f.classify, "classify", "", "task accuracy of an encoder classifier on a labelled `FILE` (.tsv, .csv or .jsonl)")
	fs.IntVar(&f.maxLength, "max-length", 0, "with --classify: truncate inputs to this many tokens, special tokens included (default: the model's positions)")
	fs.IntVar(&f.seqLen, "seq-len", 0, "window length in tokens for --text and --speed (default: the model's positions)")
	fs.IntVar(&f.stride, "stride", 0, "distance between --text windows, 1..seq-len (default: seq-len, no overlap)")
	fs.IntVar(&f.limit, "limit", 0, "evaluate only this many windows of a text, tasks of a multiple-choice file or examples of a labelled file")
	fs.IntVar(&f.batch, "batch", 0, "sequences per forward pass for --text and --speed (default 1), examples for --classify (default 8)")
	fs.Uint64Var(&f.seed, "seed", 0, "with --limit: draw the multiple-choice tasks at random with this seed")
	fs.BoolVar(&f.size, "size", false, "also count parameters, sparsity and bytes on disk")
	fs.BoolVar(&f.speed, "speed", false, "also time the forward pass (median of 10 after 2 warm-up passes)")
	fs.StringVar(&f.maxMemory, "max-memory", "auto", "memory budget: a `SIZE` such as 6GiB, a multiple of the checkpoint's size on disk such as 1.5x, or auto (the available memory); a model whose resident evaluation exceeds it is streamed block by block")
	fs.BoolVar(&f.json, "json", false, "print one JSON object (its fields: README, 'lopper eval')")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	fs.Visit(func(fl *flag.Flag) { f.seedSet = f.seedSet || fl.Name == "seed" })
	if msg := f.check(pos); msg != "" {
		fmt.Fprintf(a.stderr, "lopper eval: %s\n", msg)
		fs.Usage()
		return exitUsage
	}
	mm, err := parseMaxMemory(f.maxMemory)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper eval: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	if f.speed {
		// Checked before any work: --batch and --seq-len must fit (a
		// config.json that cannot be read is reported by the load).
		if c, err := model.LoadConfig(f.model); err == nil {
			if err := eval.CheckSpeed(&model.Model{Config: c}, eval.SpeedOptions{Batch: f.batch, SeqLen: f.seqLen}); err != nil {
				fmt.Fprintf(a.stderr, "lopper eval: %v (lower --batch or --seq-len)\n", err)
				return exitUsage
			}
		}
	}
	plan, err := f.planMemory(a, mm)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper eval: %v\n", err)
		return exitFailed
	}
	m, err := plan.load(ctx, f.model)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper eval: %v\n", err)
		return exitFailed
	}
	return closeModel(a, m, f.run(ctx, a, m, plan))
}

// run evaluates m, loaded as plan says, and prints the result.
func (f *evalFlags) run(ctx context.Context, a *app, m *model.Model, plan evalMemoryPlan) int {
	out, err := f.evaluate(ctx, m, progressOn(a.stderr, "eval"))
	if err == nil {
		out.Memory = plan
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper eval: %v\n", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitFailed
	}
	if f.json {
		err = writeJSON(a.stdout, out)
	} else {
		err = writeEvalText(a.stdout, out)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper eval: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// check returns what is wrong with the flags, or "".
func (f *evalFlags) check(pos []string) string {
	inputs := 0
	for _, s := range []string{f.text, f.hellaswag, f.choices, f.classify} {
		if s != "" {
			inputs++
		}
	}
	switch {
	case len(pos) > 0:
		return fmt.Sprintf("unexpected argument %q", pos[0])
	case f.model == "":
		return "--model is required"
	case inputs > 1:
		return "give one of --text, --hellaswag, --choices and --classify"
	case inputs == 0 && !f.size && !f.speed:
		return "nothing to measure: give --text, --hellaswag, --choices or --classify (or --size, --speed)"
	case f.seqLen < 0 || f.stride < 0 || f.limit < 0 || f.batch < 0 || f.maxLength < 0:
		return "--seq-len, --stride, --limit, --batch and --max-length must not be negative"
	case f.maxLength > 0 && f.classify == "":
		return "--max-length applies to --classify"
	case f.seqLen > 0 && f.classify != "" && !f.speed:
		return "--seq-len applies to --text and --speed; --classify truncates to --max-length"
	case f.stride > 0 && f.text == "":
		return "--stride applies to --text"
	case f.seedSet && f.hellaswag == "" && f.choices == "":
		return "--seed applies to --hellaswag and --choices"
	case f.seedSet && f.limit == 0:
		return "--seed samples --limit tasks; give --limit too"
	}
	return ""
}

// evalOutput is what lopper eval prints: the model directory, the text or
// multiple-choice result (at most one) and the optional size and speed.
type evalOutput struct {
	Model  string
	Text   *eval.TextResult
	Choice *eval.ChoiceResult
	Class  *eval.ClassifyResult
	Size   *eval.SizeResult
	Speed  *eval.SpeedResult
	Memory evalMemoryPlan
}

func (f *evalFlags) evaluate(ctx context.Context, m *model.Model, progress progressLines) (*evalOutput, error) {
	out := &evalOutput{Model: f.model}
	switch {
	case f.text != "":
		p, done := progress("windows")
		res, err := eval.TextFile(ctx, m, f.text, eval.TextOptions{SeqLen: f.seqLen, Stride: f.stride, Limit: f.limit, Batch: f.batch, Progress: p})
		done()
		if err != nil {
			return nil, err
		}
		out.Text = &res
	case f.hellaswag != "" || f.choices != "":
		var tf *eval.TaskFile
		var err error
		if f.hellaswag != "" {
			tf, err = eval.ReadHellaSwag(f.hellaswag)
		} else {
			tf, err = eval.ReadChoicesJSONL(f.choices)
		}
		if err != nil {
			return nil, err
		}
		p, done := progress("tasks")
		res, err := eval.Choices(ctx, m, tf, eval.ChoiceOptions{Limit: f.limit, Sample: f.seedSet, Seed: f.seed, Progress: p})
		done()
		if err != nil {
			return nil, err
		}
		out.Choice = &res
	case f.classify != "":
		p, done := progress("examples")
		res, err := eval.ClassifyModel(ctx, m, f.classify, eval.ClassifyOptions{MaxLength: f.maxLength, Limit: f.limit, Batch: f.batch, Progress: p})
		done()
		if err != nil {
			return nil, err
		}
		out.Class = &res
	}
	if f.size {
		res, err := eval.Size(m, f.model)
		if err != nil {
			return nil, err
		}
		out.Size = &res
	}
	if f.speed {
		res, err := eval.Speed(ctx, m, eval.SpeedOptions{Batch: f.batch, SeqLen: f.seqLen})
		if err != nil {
			return nil, err
		}
		out.Speed = &res
	}
	return out, nil
}
