package eval

// Metrics is a flat set of named numbers: what recipes' stop conditions and
// gates read. Every result type has a Metrics method; the names are the
// Metric* constants.
type Metrics map[string]float64

// Metric names. They are part of lopper's recipe interface: keep them.
const (
	MetricPerplexity   = "perplexity"     // text: exp(mean NLL)
	MetricAccuracy     = "accuracy"       // text: next-token top-1 accuracy
	MetricTokens       = "tokens"         // text: predictions scored; choice: continuation tokens
	MetricAcc          = "acc"            // multiple choice
	MetricAccNorm      = "acc_norm"       // multiple choice, length-normalised
	MetricParams       = "params"         // size: all parameters
	MetricNonZero      = "params_nonzero" // size: non-zero parameters
	MetricSparsity     = "sparsity"       // size: zero fraction of the prunable linear weights
	MetricBytes        = "bytes_on_disk"  // size: bytes of a saved model directory
	MetricTokensPerSec = "tokens_per_sec" // speed: forward tokens per second
	MetricLatencyMS    = "latency_ms"     // speed: median forward latency

	MetricAccDrop     = "acc_drop"    // baseline accuracy − accuracy
	MetricPPLRatio    = "ppl_ratio"   // perplexity / baseline perplexity
	MetricSizeRatio   = "size_ratio"  // non-zero parameters / baseline's
	MetricCompression = "compression" // baseline's non-zero parameters / non-zero parameters
	MetricDiskRatio   = "disk_ratio"  // bytes on disk / baseline's
	MetricSpeedup     = "speedup"     // tokens per second / baseline's
)

// Relative compares cur against base and returns the relative metrics that
// both sides have the inputs for:
//   - acc_drop = base − cur of "acc" (multiple choice) when both have it,
//     else of "accuracy" (next-token); positive means accuracy was lost;
//   - ppl_ratio = perplexity / base perplexity;
//   - size_ratio = params_nonzero / base params_nonzero, and compression,
//     its inverse;
//   - disk_ratio = bytes_on_disk / base bytes_on_disk;
//   - speedup = tokens_per_sec / base tokens_per_sec.
//
// A ratio whose denominator is zero is left out.
func Relative(base, cur Metrics) Metrics {
	out := Metrics{}
	for _, k := range []string{MetricAcc, MetricAccuracy} {
		b, okb := base[k]
		c, okc := cur[k]
		if okb && okc {
			out[MetricAccDrop] = b - c
			break
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

// Metrics returns perplexity, accuracy and tokens.
func (r TextResult) Metrics() Metrics {
	return Metrics{MetricPerplexity: r.Perplexity, MetricAccuracy: r.Accuracy, MetricTokens: float64(r.Tokens)}
}

// Metrics returns acc, acc_norm and tokens.
func (r ChoiceResult) Metrics() Metrics {
	return Metrics{MetricAcc: r.Acc, MetricAccNorm: r.AccNorm, MetricTokens: float64(r.Tokens)}
}
