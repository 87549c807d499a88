package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"lopper/eval"
)

// evalJSON is lopper eval's --json object: the text or multiple-choice
// result's fields at the top level, plus "model", "size" and "speed".
type evalJSON struct {
	Model string `json:"model"`
	// MemoryMode is how the weights were held: "resident" or "streamed".
	MemoryMode string            `json:"memory_mode"`
	Size       *eval.SizeResult  `json:"size,omitempty"`
	Speed      *eval.SpeedResult `json:"speed,omitempty"`
}

func writeJSON(w io.Writer, out *evalOutput) error {
	head := evalJSON{Model: out.Model, MemoryMode: out.Memory.mode, Size: out.Size, Speed: out.Speed}
	var v any = head
	switch {
	case out.Text != nil:
		v = struct {
			evalJSON
			*eval.TextResult
		}{head, out.Text}
	case out.Choice != nil:
		v = struct {
			evalJSON
			*eval.ChoiceResult
		}{head, out.Choice}
	case out.Class != nil:
		v = struct {
			evalJSON
			*eval.ClassifyResult
		}{head, out.Class}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeEvalText prints the headline numbers and the protocol for people.
func writeEvalText(w io.Writer, out *evalOutput) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("model", "%s", out.Model)
	row("memory", "%s", out.Memory)
	if r := out.Text; r != nil {
		p := r.Protocol
		row("perplexity", "%.4f  (%.4f nats/token)", r.Perplexity, r.NLL)
		row("accuracy", "%.4f  (%d of %d next tokens)", r.Accuracy, r.Correct, r.Tokens)
		row("protocol", "%d of %d windows of %d tokens, stride %d; text %d tokens", p.Windows, p.WindowsAvailable, p.SeqLen, p.Stride, p.TextTokens)
		row("text", "%s  sha256 %.16s…", p.File, p.SHA256)
	}
	if r := out.Choice; r != nil {
		p := r.Protocol
		row("acc", "%.4f  (%d of %d tasks)", r.Acc, r.Correct, r.Tasks)
		row("acc_norm", "%.4f  (%d of %d tasks)", r.AccNorm, r.CorrectNorm, r.Tasks)
		sampled := ""
		if p.Seed != nil {
			sampled = fmt.Sprintf(", sampled with seed %d", *p.Seed)
		}
		row("protocol", "%s, %d of %d tasks%s; %d continuation tokens; %d contexts cut, %d continuations split at %d positions",
			p.Format, r.Tasks, p.TasksAvailable, sampled, r.Tokens, r.Truncated, r.Split, p.MaxPositions)
		row("file", "%s  sha256 %.16s…", p.File, p.SHA256)
	}
	if r := out.Class; r != nil {
		writeClassifyText(row, r)
	}
	if r := out.Size; r != nil {
		row("params", "%d  (%d non-zero, %.2f%% zero)", r.Params, r.NonZero, 100*r.SparsityAll)
		row("sparsity", "%.2f%%  of %d prunable linear weights", 100*r.Sparsity, r.PrunableParams)
		row("on disk", "%d bytes", r.BytesOnDisk)
	}
	if r := out.Speed; r != nil {
		row("speed", "%.0f tokens/s  (median %.3f ms per %d×%d forward, min %.3f, max %.3f; %d runs after %d warm-up)",
			r.TokensPerSec, r.LatencyMS, r.Batch, r.SeqLen, r.LatencyMinMS, r.LatencyMaxMS, r.Repeats, r.Warmup)
		row("machine", "%s, GOMAXPROCS %d", r.CPU, r.GOMAXPROCS)
	}
	return tw.Flush()
}

// writeClassifyText prints a labelled task's metrics, per-class counts and
// protocol.
func writeClassifyText(row func(k, format string, args ...any), r *eval.ClassifyResult) {
	p := r.Protocol
	f := func(name string, v *float64, detail string) {
		if v != nil {
			row(name, "%.4f%s", *v, detail)
		}
	}
	correct := ""
	if r.Correct != nil {
		correct = fmt.Sprintf("  (%d of %d examples)", *r.Correct, r.Examples)
	}
	f("accuracy", r.Accuracy, correct)
	f("macro_f1", r.MacroF1, "")
	f("micro_f1", r.MicroF1, "")
	f("mcc", r.MCC, "")
	f("mse", r.MSE, fmt.Sprintf("  (%d examples)", r.Examples))
	f("pearson", r.Pearson, "")
	f("spearman", r.Spearman, "")
	for _, c := range r.PerClass {
		row("class "+c.Label, "support %d, predicted %d, correct %d; precision %.4f, recall %.4f, f1 %.4f",
			c.Support, c.Predicted, c.Correct, c.Precision, c.Recall, c.F1)
	}
	row("protocol", "%s, %s, %d examples; max length %d (%d truncated), batch %d, pad id %d; %d tokens",
		p.Format, p.ProblemType, r.Examples, p.MaxLength, r.Truncated, p.Batch, p.PadID, r.Tokens)
	row("file", "%s  sha256 %.16s…", p.File, p.SHA256)
}
