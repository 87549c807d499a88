package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pruning"
	"lopper/stages"

	"github.com/hashicorp/go-hclog"
)

// pruneCommand is `lopper prune`.
func pruneCommand() command {
	return command{
		name:    "prune",
		args:    "--model DIR --out DIR --method METHOD [flags]",
		summary: "prune a model once, without a recipe, and save the result",
		help: `Methods by pattern: unstructured and N:M take magnitude, random, wanda, sparsegpt,
taylor; neurons and heads take l1, l2 (or magnitude), activation, wanda, taylor,
random; layers take block_influence, taylor, random. wanda, sparsegpt, taylor,
activation and block_influence need --calib. Values are spelled as in a recipe's
prune stage (kv_groups, query_heads, one-pass, block_influence).
On a terminal, progress is shown on stderr.
Exit codes: 0 ok, 1 the model could not be loaded, calibrated, pruned or saved,
2 bad usage, 130 interrupted.`,
		example: `lopper prune --model quickstart/model --out pruned --method magnitude --sparsity 0.5
lopper prune --model llama --out llama-2of4 --method sparsegpt --pattern 2:4 --calib c4.txt
lopper prune --model gpt2 --out gpt2-w50 --method wanda --calib wiki.txt --calib-seq-len 1024 --calib-samples 64
lopper prune --model llama --method magnitude --sparsity 0.7 --scope global --ignore 'layers\.0\.' --dry-run
lopper prune --model llama --out llama-h50 --pattern heads --method l1 --sparsity 0.5 --head-mode query_heads`,
		run: runPrune,
	}
}

// pruneFlags are lopper prune's options.
type pruneFlags struct {
	model, out, method, pattern, scope, calib, calibMode string
	headMode, nonUniform, uniform                        string
	sparsity, owlLambda, owlM                            float64
	calibSeqLen, calibSamples                            int
	calibRandom, dryRun, json, sparsitySet, samplesSet   bool
	force                                                bool
	seed                                                 uint64
	targets, ignore                                      stringList
}

func runPrune(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("prune")
	var f pruneFlags
	fs.StringVar(&f.model, "model", "", "the Hugging Face model `DIR` to prune (required)")
	fs.StringVar(&f.out, "out", "", "the `DIR` to save the pruned model in (required unless --dry-run): a new or empty directory, or a model lopper saved, replaced atomically")
	fs.BoolVar(&f.force, "force", false, "let --out replace an existing directory that lopper did not save (never the input model, nor one holding it or the working directory)")
	fs.StringVar(&f.method, "method", "", "importance criterion `METHOD` (required): magnitude, random, wanda, sparsegpt or taylor for weights; "+
		"l1, l2 (or magnitude), activation, wanda, taylor or random for neurons and heads; block_influence, taylor or random for layers")
	fs.Float64Var(&f.sparsity, "sparsity", 0.5, "fraction of each comparison group to end pruned, counting weights already zero (N:M patterns fix it at 1-N/M)")
	fs.StringVar(&f.pattern, "pattern", "unstructured", "what is removed, `PATTERN`: unstructured, N:M (2:4, 4:8; at most N of every M inputs survive), neurons, heads or layers")
	fs.StringVar(&f.scope, "scope", "", "comparison group `SCOPE`: row, layer (a tensor), global or owl (default: row for wanda and N:M, layer otherwise); neurons and heads: layer or global")
	fs.StringVar(&f.headMode, "head-mode", "", "`MODE` of pattern heads under grouped-query attention: kv_groups (a kv head with its query group) or query_heads (query heads evenly from every group) (default kv_groups)")
	fs.StringVar(&f.nonUniform, "nonuniform", "", "`POLICY` for neurons and heads with --scope global, when layers would end with different sizes: round (to a uniform size), keep (per-layer sizes; not loadable by Hugging Face) or refuse (default round)")
	fs.StringVar(&f.uniform, "uniform", "refuse", "`POLICY` for a result Hugging Face cannot load (layers of different sizes, or a GPT-2 with heads removed): refuse, or keep (write it with its dims in config.json's lopper_dims; lopper loads it, Hugging Face does not); the save stage's uniform")
	fs.StringVar(&f.calib, "calib", "", "calibration text `FILE` (wanda, sparsegpt, taylor, activation, block_influence), tokenized with the model's tokenizer; an encoder classifier's is a labelled task (.tsv, .csv, .jsonl), one window per example")
	fs.IntVar(&f.calibSeqLen, "calib-seq-len", 0, "calibration window length in tokens (default: the model's positions, at most 2048)")
	fs.IntVar(&f.calibSamples, "calib-samples", pruning.DefaultCalibSamples, fmt.Sprintf("number of calibration windows (default %d; when not given and the text holds fewer, all it holds)", pruning.DefaultCalibSamples))
	fs.BoolVar(&f.calibRandom, "calib-random", false, "take the windows at random starts (seeded by --seed) instead of consecutively from the start of the file")
	fs.StringVar(&f.calibMode, "calib-mode", "sequential", "where calibration statistics come from, `MODE`: sequential (block by block, earlier blocks pruned) or one-pass (all from the dense model)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for --method random and --calib-random")
	fs.Var(&f.targets, "targets", "prune only tensors whose name matches the Go regexp `RE` (repeatable; default: every linear weight in the blocks)")
	fs.Var(&f.ignore, "ignore", "leave out tensors whose name matches the Go regexp `RE` (repeatable)")
	fs.Float64Var(&f.owlLambda, "owl-lambda", 0, "OWL's λ: per-layer sparsities span ±λ around --sparsity (default 0.08)")
	fs.Float64Var(&f.owlM, "owl-m", 0, "OWL's M: a score is an outlier above M times its layer's mean (default 5)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list the matched tensors and what would be removed; prune and save nothing")
	fs.BoolVar(&f.json, "json", false, "print one JSON object: {model, out, removed, sparsity_before, sparsity_after, report}")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	fs.Visit(func(fl *flag.Flag) {
		f.sparsitySet = f.sparsitySet || fl.Name == "sparsity"
		f.samplesSet = f.samplesSet || fl.Name == "calib-samples"
	})
	o, msg := f.options(pos)
	if msg != "" {
		fmt.Fprintf(a.stderr, "lopper prune: %s\n", msg)
		fs.Usage()
		return exitUsage
	}
	// Where the result goes is checked before any work: a refusal costs
	// the user nothing (and is checked again when saving).
	guard := f.outGuard()
	if !f.dryRun {
		if err := guard.Check(f.out); err != nil {
			fmt.Fprintf(a.stderr, "lopper prune: %s\n", refusalHint(err, "--force"))
			return exitUsage
		}
	}
	lazy, mode := f.lazy(o)
	a.logMemory(f.model, f.pruneMemory(o, lazy), "weights", mode)
	m, err := f.load(ctx, lazy)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper prune: %v\n", err)
		return failCode(ctx)
	}
	defer closePruned(a, m)
	// Options and targets are checked against the model before any
	// calibration work: what is wrong with them is a usage error.
	if err := checkPruneOptions(m, o); err != nil {
		fmt.Fprintf(a.stderr, "lopper prune: %v\n", err)
		return exitUsage
	}
	if f.dryRun {
		rep, err := pruning.DryRun(m, o)
		if err != nil {
			fmt.Fprintf(a.stderr, "lopper prune: %v\n", err)
			return exitUsage
		}
		return f.print(a, rep)
	}
	if len(m.TokenizerJSON) == 0 && f.calib == "" {
		a.log.Warn("the model has no tokenizer.json: the pruned model will have none either (lopper eval --text and Hugging Face pipelines need one)",
			"model", f.model, "out", f.out)
	}
	if f.calib != "" {
		if o.Calib, err = f.calibration(m, a.log); err != nil {
			fmt.Fprintf(a.stderr, "lopper prune: %v\n", err)
			return exitFailed
		}
	}
	save, err := f.startSave(a, m, &o, guard)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper prune: %s\n", refusalHint(err, "--force"))
		return exitFailed
	}
	defer save.abort(a)
	a.log.Info("pruning", "model", f.model, "method", o.Method, "pattern", o.Pattern.String(), "sparsity", o.Sparsity)
	finish := func() {}
	if isTerminal(a.stderr) {
		o.Progress, finish = pruneProgress(progressOn(a.stderr, "prune"))
	}
	// m is not needed after pruning: prune it in place (no copy of its
	// weights; of a lazy model, only the targets in flight are resident).
	out, rep, err := pruning.PruneInPlace(ctx, m, o)
	finish()
	if err == nil {
		err = ctx.Err() // interrupted: nothing is saved
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper prune: %v\n", loadError(err))
		return failCode(ctx)
	}
	release, ok := a.guard.hold() // an interrupt does not cut the save short
	if !ok {
		return exitInterrupted
	}
	meta, err := json.Marshal(pruneMetadata{Command: "prune", Source: f.model, Report: rep, Previous: m.Meta})
	if err == nil {
		err = save.finish(a, out, meta)
	}
	release()
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper prune: %s\n", refusalHint(loadError(err), "--force"))
		return exitFailed
	}
	return f.print(a, rep)
}

// outGuard says what --out may replace: never the input model or the
// calibration text (nor a directory holding them, nor anything inside the
// model), and a directory lopper did not save only with --force.
func (f *pruneFlags) outGuard() fsx.Guard {
	g := fsx.Guard{Force: f.force, Owned: model.CheckSavedDir,
		Inputs: []fsx.Protected{{Path: f.model, What: "the input model"}}}
	if f.calib != "" {
		g.Keep = append(g.Keep, fsx.Protected{Path: f.calib, What: "the calibration text"})
	}
	return g
}

// refusalHint adds to a refusal that the user may force how to.
func refusalHint(err error, force string) string {
	var re *fsx.RefusedError
	if errors.As(err, &re) && re.Forcible {
		return fmt.Sprintf("%v; choose another directory, or pass %s to replace it", err, force)
	}
	return err.Error()
}

// options turns the flags into pruning options, or says what is wrong.
func (f *pruneFlags) options(pos []string) (pruning.Options, string) {
	switch {
	case len(pos) > 0:
		return pruning.Options{}, fmt.Sprintf("unexpected argument %q", pos[0])
	case f.model == "":
		return pruning.Options{}, "--model is required"
	case f.out == "" && !f.dryRun:
		return pruning.Options{}, "--out is required (or --dry-run)"
	case f.method == "":
		return pruning.Options{}, "--method is required"
	case f.calib == "" && !f.dryRun && pruning.Method(f.method).NeedsCalibration():
		return pruning.Options{}, fmt.Sprintf("--method %s needs calibration text: give --calib FILE", f.method)
	case f.calibSeqLen < 0 || f.calibSamples <= 0:
		return pruning.Options{}, "--calib-seq-len must not be negative and --calib-samples must be positive"
	}
	p, err := pruning.ParsePattern(f.pattern)
	if err != nil {
		return pruning.Options{}, err.Error()
	}
	if _, err := model.ParseUniformPolicy(f.uniform); err != nil {
		return pruning.Options{}, "--uniform: " + err.Error()
	}
	o := pruning.Options{
		Method: pruning.Method(f.method), Sparsity: f.sparsity, Pattern: p, Scope: pruning.Scope(f.scope),
		Targets:   pruning.TargetSpec{Include: f.targets, Ignore: f.ignore},
		CalibMode: pruning.CalibMode(f.calibMode), Seed: f.seed,
		OWL:      pruning.OWLOptions{Lambda: f.owlLambda, M: f.owlM},
		HeadMode: pruning.HeadMode(f.headMode), NonUniform: pruning.NonUniformPolicy(f.nonUniform),
	}
	if p.Kind == pruning.NM && !f.sparsitySet {
		o.Sparsity = 0 // the pattern fixes it
	}
	return o, ""
}

// checkUniform applies the save stage's rule (model.UniformPolicy) to the
// pruned model before it is saved; keep only logs that Hugging Face
// cannot load the result.
func (f *pruneFlags) checkUniform(a *app, out *model.Model) error {
	policy, err := model.ParseUniformPolicy(f.uniform)
	if err != nil {
		return err
	}
	if err := policy.Check(&out.Config); err != nil {
		hint := ""
		if !out.Config.Uniform() {
			hint = "prune with --nonuniform round, or "
		}
		return fmt.Errorf("%w; %spass --uniform keep to write it anyway, with its dims in config.json's lopper_dims (lopper loads it, Hugging Face does not)", err, hint)
	}
	if err := out.Config.HFCompatible(); err != nil {
		a.log.Warn("saving a model Hugging Face cannot load (--uniform keep)", "out", f.out, "reason", err.Error())
	}
	return nil
}

// checkPruneOptions validates o against m without scoring anything.
func checkPruneOptions(m *model.Model, o pruning.Options) error {
	switch o.Pattern.Kind {
	case pruning.Neurons, pruning.Heads, pruning.Layers:
		_, err := pruning.StructuredOptionsFrom(o)
		return err
	}
	return pruning.CheckOptions(m, o)
}

// calibration cuts the windows of the calibration file, as a recipe's
// calib block does.
func (f *pruneFlags) calibration(m *model.Model, log hclog.Logger) (*pruning.Calibration, error) {
	o := pruning.WindowOptions{SeqLen: f.calibSeqLen, Random: f.calibRandom, Seed: f.seed}
	if f.samplesSet {
		o.Samples = f.calibSamples
	}
	return stages.CalibrationWindows(m, f.calib, o, log)
}

// pruneMetadata is what lopper prune records in the saved lopper.json.
type pruneMetadata struct {
	Command  string          `json:"command"`
	Source   string          `json:"source"`
	Report   *pruning.Report `json:"report"`
	Previous json.RawMessage `json:"previous,omitempty"`
}

// pruneOutput is lopper prune --json's object.
type pruneOutput struct {
	Model          string          `json:"model"`
	Out            string          `json:"out,omitempty"`
	Removed        int             `json:"removed"`
	SparsityBefore float64         `json:"sparsity_before"`
	SparsityAfter  float64         `json:"sparsity_after"`
	Report         *pruning.Report `json:"report"`
}

func (f *pruneFlags) print(a *app, rep *pruning.Report) int {
	var err error
	if f.json {
		out := pruneOutput{Model: f.model, Report: rep, Removed: rep.Removed(),
			SparsityBefore: rep.SparsityBefore(), SparsityAfter: rep.SparsityAfter()}
		if !f.dryRun {
			out.Out = f.out
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	} else {
		err = f.writeText(a.stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper prune: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func (f *pruneFlags) writeText(w io.Writer, rep *pruning.Report) error {
	verb := "pruned"
	if rep.DryRun {
		verb = "would prune"
	}
	how := fmt.Sprintf("%s, %s", rep.Method, rep.Pattern)
	if rep.Structured == nil {
		how += ", scope " + string(rep.Scope)
	}
	if rep.CalibSamples > 0 {
		how += fmt.Sprintf(", calibration on %d × %d tokens", rep.CalibSamples, rep.CalibSeqLen)
		if rep.CalibMode != "" {
			how += fmt.Sprintf(" (%s)", rep.CalibMode)
		}
	}
	fmt.Fprintf(w, "%s %s (%s)\n", verb, f.model, how)
	if len(rep.LayerSparsity) > 0 {
		s := make([]string, len(rep.LayerSparsity))
		for i, v := range rep.LayerSparsity {
			s[i] = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(w, "layer sparsities: %s\n", strings.Join(s, " "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(rep.Tensors) > 0 {
		fmt.Fprintln(tw, "tensor\tshape\tparams\tnon-zero before\tafter\tsparsity")
		for _, t := range rep.Tensors {
			after, sp := "?", "?"
			if t.NonZeroAfter >= 0 {
				after = fmt.Sprint(t.NonZeroAfter)
				sp = fmt.Sprintf("%.1f%%", 100*float64(t.Params-t.NonZeroAfter)/float64(max(t.Params, 1)))
			}
			fmt.Fprintf(tw, "%s\t%v\t%d\t%d\t%s\t%s\n", t.Name, t.Shape, t.Params, t.NonZeroBefore, after, sp)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Structured != nil {
		fmt.Fprintf(w, "parameters: %d → %d (%d removed)\n", rep.Structured.ParamsBefore, rep.Structured.ParamsAfter, rep.Removed())
	} else if rep.Removed() >= 0 {
		fmt.Fprintf(w, "total: %d weights in %d tensors, %d removed, sparsity %.2f%% → %.2f%%\n",
			rep.Params, len(rep.Tensors), rep.Removed(), 100*rep.SparsityBefore(), 100*rep.SparsityAfter())
	} else {
		fmt.Fprintf(w, "total: %d weights in %d tensors, sparsity %.2f%% now; what is removed depends on the scores\n",
			rep.Params, len(rep.Tensors), 100*rep.SparsityBefore())
	}
	fmt.Fprintf(w, "embeddings: %d of the model's %d parameters (%.1f%%)\n", rep.EmbeddingParams, rep.ModelParams, 100*rep.EmbeddingShare)
	if !rep.DryRun {
		_, err := fmt.Fprintf(w, "saved to %s\n", f.out)
		return err
	}
	return nil
}
