package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"lopper/model"
	"lopper/pruning"
)

// verifyCommand is `lopper verify`.
func verifyCommand() command {
	return command{
		name:    "verify",
		args:    "MODEL_DIR --masks-of PRUNED_DIR [--json]",
		summary: "check that the weights pruned in one model are still exactly zero in another (e.g. after retraining)",
		help: `A model on disk carries no mask: its zeros are its mask. verify checks that every
block linear weight that is zero in PRUNED_DIR is still zero in MODEL_DIR (the
recipe stage verify does the same with masks_of), and lists the tensors where
one is not. The two models must have the same tensors and shapes.
Exit codes: 0 the masks hold, 1 they do not (or a model cannot be loaded, or
the shapes differ), 2 bad usage.`,
		example: "lopper verify retrained --masks-of pruned\nlopper verify runs/20260101T120000Z-quickstart/model --masks-of pruned --json",
		run:     runVerify,
	}
}

// verifyOutput is lopper verify --json's object.
type verifyOutput struct {
	Model   string `json:"model"`
	MasksOf string `json:"masks_of"`
	Holds   bool   `json:"holds"`
	pruning.MaskCheck
	Sparsity float64 `json:"sparsity"`
}

func runVerify(_ context.Context, a *app, args []string) int {
	fs := a.newFlags("verify")
	masksOf := fs.String("masks-of", "", "the pruned model `DIR` whose zero block linear weights must still be zero in MODEL_DIR (required)")
	asJSON := fs.Bool("json", false, "print one JSON object: {model, masks_of, holds, checked, violations, tensors, sparsity}")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	switch {
	case len(pos) != 1:
		fmt.Fprintf(a.stderr, "lopper verify: want one MODEL_DIR, got %d arguments\n", len(pos))
	case *masksOf == "":
		fmt.Fprintf(a.stderr, "lopper verify: --masks-of is required: a model on disk carries no mask, its zeros are its mask\n")
	}
	if len(pos) != 1 || *masksOf == "" {
		fs.Usage()
		return exitUsage
	}
	m, err := model.Load(pos[0], model.LoadOptions{})
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper verify: %v\n", err)
		return exitFailed
	}
	ref, err := model.Load(*masksOf, model.LoadOptions{})
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper verify: --masks-of: %v\n", err)
		return exitFailed
	}
	c, err := pruning.CheckMasks(m, ref)
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper verify: %s against %s: %v\n", pos[0], *masksOf, err)
		return exitFailed
	}
	sp, _ := m.Sparsity(model.Prunable)
	out := verifyOutput{Model: pos[0], MasksOf: *masksOf, Holds: c.Violations == 0, MaskCheck: *c, Sparsity: sp}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	} else {
		err = writeVerifyText(a.stdout, &out)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper verify: %v\n", err)
		return exitFailed
	}
	if !out.Holds {
		return exitFailed
	}
	return exitOK
}

func writeVerifyText(w io.Writer, o *verifyOutput) error {
	if o.Holds {
		_, err := fmt.Fprintf(w, "the masks of %s hold in %s: all %d pruned weights are zero (block linear weights %.2f%% zero)\n",
			o.MasksOf, o.Model, o.Checked, 100*o.Sparsity)
		return err
	}
	fmt.Fprintf(w, "the masks of %s do not hold in %s: %d of %d pruned weights are not zero, in %d tensor%s\n",
		o.MasksOf, o.Model, o.Violations, o.Checked, len(o.Tensors), plural(len(o.Tensors)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tensor\tshape\tnot zero\tfirst")
	for _, v := range o.Tensors {
		fmt.Fprintf(tw, "%s\t%v\t%d\t%s = %g\n", v.Tensor, v.Shape, v.Count, v.Where(), v.Value)
	}
	return tw.Flush()
}
