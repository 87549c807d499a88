package pipeline

// Derived metrics. For a stage downstream of the recipe's baseline B (it
// depends on B, directly or through other stages or an enclosing loop or
// matrix) that produces accuracy / perplexity while B does too:
//
//	acc_drop  = B.accuracy - stage.accuracy
//	ppl_ratio = stage.perplexity / B.perplexity
//
// In a loop's until, the bare names acc_drop and ppl_ratio are those of the
// loop's measure stage in the iteration just finished.
const (
	MetricAccuracy   = "accuracy"
	MetricPerplexity = "perplexity"
	MetricAccDrop    = idAccDrop
	MetricPplRatio   = idPplRatio
)
