package eval

// Metrics is a flat set of named numbers: what recipes' stop conditions and
// gates read. Every result type has a Metrics method; the names are the
// Metric* constants.
type Metrics map[string]float64

// Metric names. They are part of lopper's recipe interface: keep them.
const (
	MetricPerplexity   = "perplexity"     // text: exp(mean NLL)
	MetricAccuracy     = "accuracy"       // the headline accuracy, see below
	MetricTokens       = "tokens"         // text: predictions scored; choice: continuation tokens
	MetricAcc          = "acc"            // multiple choice
	MetricAccNorm      = "acc_norm"       // multiple choice, length-normalised
	MetricParams       = "params"         // size: all parameters
	MetricNonZero      = "params_nonzero" // size: non-zero parameters
	MetricSparsity     = "sparsity"       // size: zero fraction of the prunable linear weights
	MetricBytes        = "bytes_on_disk"  // size: bytes of a saved model directory
	MetricTokensPerSec = "tokens_per_sec" // speed: forward tokens per second
	MetricLatencyMS    = "latency_ms"     // speed: median forward latency
	MetricExamples     = "examples"       // classification: examples evaluated
	MetricMacroF1      = "macro_f1"       // classification: mean F1 over classes
	MetricMCC          = "mcc"            // single-label classification: Matthews correlation
	MetricMicroF1      = "micro_f1"       // multi-label classification: F1 over all decisions
	MetricMSE          = "mse"            // regression: mean squared error
	MetricPearson      = "pearson"        // regression: Pearson's r
	MetricSpearman     = "spearman"       // regression: Spearman's rho

	MetricAccDrop     = "acc_drop"    // baseline's accuracy − accuracy
	MetricPPLRatio    = "ppl_ratio"   // perplexity / baseline perplexity
	MetricSizeRatio   = "size_ratio"  // non-zero parameters / baseline's
	MetricCompression = "compression" // baseline's non-zero parameters / non-zero parameters
	MetricDiskRatio   = "disk_ratio"  // bytes on disk / baseline's
	MetricSpeedup     = "speedup"     // tokens per second / baseline's
)

// The headline accuracy, MetricAccuracy, is the one number acc_drop
// compares: next-token top-1 accuracy for a text (TextResult.Accuracy),
// acc_norm for multiple choice (ChoiceResult.AccNorm: the number
// lm-evaluation-harness and the Open LLM Leaderboard report for
// HellaSwag) and task accuracy for a labelled-text task
// (ClassifyResult.Accuracy; subset accuracy for multi-label, none for
// regression). The engine's derived acc_drop (package pipeline) and the
// evaluate stage read the same "accuracy" metric.

// Relative compares cur against base and returns the relative metrics that
// both sides have the inputs for:
//   - acc_drop = base accuracy − cur accuracy (the headline accuracy of
//     both); positive means accuracy was lost;
//   - ppl_ratio = perplexity / base perplexity;
//   - size_ratio = params_nonzero / base params_nonzero, and compression,
//     its inverse;
//   - disk_ratio = bytes_on_disk / base bytes_on_disk;
//   - speedup = tokens_per_sec / base tokens_per_sec.
//
// A ratio whose denominator is zero is left out.
func Relative(base, cur Metrics) Metrics {
	out := Metrics{}
	if b, okb := base[MetricAccuracy]; okb {
		if c, okc := cur[MetricAccuracy]; okc {
			out[MetricAccDrop] = b - c
		}
	}
	ratio := func(name, key string) {
		b, okb := base[key]
		c, okc := cur[key]
		if okb && okc && b != 0 {
			out[name] = c / b
		}
	}
	ratio(MetricPPLRatio, MetricPerplexity)
	ratio(MetricSizeRatio, MetricNonZero)
	ratio(MetricDiskRatio, MetricBytes)
	ratio(MetricSpeedup, MetricTokensPerSec)
	if b, c := base[MetricNonZero], cur[MetricNonZero]; b > 0 && c > 0 {
		out[MetricCompression] = b / c
	}
	return out
}

// Metrics returns perplexity, accuracy (next-token, the headline) and
// tokens.
func (r TextResult) Metrics() Metrics {
	return Metrics{MetricPerplexity: r.Perplexity, MetricAccuracy: r.Accuracy, MetricTokens: float64(r.Tokens)}
}

// Metrics returns acc, acc_norm, accuracy (acc_norm, the headline) and
// tokens.
func (r ChoiceResult) Metrics() Metrics {
	return Metrics{MetricAcc: r.Acc, MetricAccNorm: r.AccNorm, MetricAccuracy: r.AccNorm, MetricTokens: float64(r.Tokens)}
}
