package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"lopper/model"
)

// inspectCommand is `lopper inspect`.
func inspectCommand() command {
	return command{
		name:    "inspect",
		args:    "MODEL_DIR [--json]",
		summary: "show a model's architecture, dims per layer, dtype, parameter count and sparsity per tensor",
		help:    "Exit codes: 0 ok, 1 the model could not be loaded, 2 bad usage.",
		example: "lopper inspect quickstart/model\nlopper inspect path/to/pruned --json",
		run:     runInspect,
	}
}

func runInspect(_ context.Context, a *app, args []string) int {
	fs := a.newFlags("inspect")
	asJSON := fs.Bool("json", false, "print one JSON object (its fields: README, 'lopper inspect')")
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(a.stderr, "lopper inspect: want one MODEL_DIR, got %d arguments\n", len(pos))
		fs.Usage()
		return exitUsage
	}
	s, err := model.Inspect(pos[0])
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper inspect: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(s)
	} else {
		err = writeInspectText(a.stdout, pos[0], &s)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper inspect: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func writeInspectText(w io.Writer, dir string, s *model.Summary) error {
	tied := "untied head"
	if s.TiedEmbeddings {
		tied = "tied embeddings"
	}
	fmt.Fprintf(w, "%s: %s (model_type %s), %d layers, hidden %d, head dim %d, vocab %d, %d positions, %s, %s\n",
		dir, s.Architecture, s.ModelType, s.NumLayers, s.Hidden, s.HeadDim, s.Vocab, s.MaxPositions, s.Activation, tied)
	if s.RoPE != "" {
		fmt.Fprintf(w, "RoPE %s, rotary dim %d\n", s.RoPE, s.RotaryDim)
	}
	if len(s.Labels) > 0 {
		labels := s.Labels
		more := ""
		if len(labels) > 10 {
			labels, more = labels[:10], fmt.Sprintf(", … %d more", len(s.Labels)-10)
		}
		fmt.Fprintf(w, "sequence classifier: %d labels (%s%s), %s\n", len(s.Labels), strings.Join(labels, ", "), more, s.ProblemType)
	}
	if s.ConfigOnly {
		fmt.Fprintf(w, "config.json only (no weights): dtype %s, %d parameters (block linear weights: %d)\n",
			s.DType, s.Parameters, s.PrunableParameters)
	} else {
		fmt.Fprintf(w, "dtype %s, %d parameters, sparsity %.2f%% (block linear weights: %d, sparsity %.2f%%)\n",
			s.DType, s.Parameters, 100*s.Sparsity, s.PrunableParameters, 100*s.PrunableSparsity)
	}
	fmt.Fprintf(w, "embeddings: %d parameters, %.1f%% of the model\n", s.EmbeddingParameters, 100*s.EmbeddingShare)
	if !s.HFCompatible {
		fmt.Fprintf(w, "not loadable by Hugging Face: %s\n", s.HFReason)
	}
	if s.NonFinite > 0 {
		var where []string
		for _, t := range s.Tensors {
			if t.NonFinite > 0 {
				where = append(where, fmt.Sprintf("%s (%d)", t.Name, t.NonFinite))
			}
		}
		fmt.Fprintf(w, "not finite: %d weights are NaN or ±Inf, in %s\n", s.NonFinite, strings.Join(where, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\theads\tkv heads\tintermediate\tparameters\tsparsity")
	for _, l := range s.Layers {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.2f%%\n", l.Layer, l.Heads, l.KVHeads, l.Intermediate, l.Parameters, 100*l.PrunableSparsity)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tensor\tshape\tdtype\tparameters\tnonzero\tsparsity")
	for _, t := range s.Tensors {
		name := t.Name
		if t.Stored != "" { // a part of a fused checkpoint tensor (Phi-3)
			name = fmt.Sprintf("%s (%s from row %d)", t.Name, t.Stored, t.StoredRow)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%d\t%d\t%.2f%%\n", name, t.Shape, t.DType, t.Parameters, t.NonZero, 100*t.Sparsity)
	}
	return tw.Flush()
}
