package eval

// lm is the part of a causal language model that evaluation uses. The
// adapter for *model.Model is in model_lm.go; tests substitute models whose
// logits they can reason about.
type lm interface {
	// vocab is the number of logits per position.
	vocab() int
	// maxPositions is the longest sequence the model accepts.
	maxPositions() int
	// newRunner returns a runner for up to b sequences of up to t tokens.
	// One runner is used by one goroutine at a time; distinct runners may
	// run concurrently.
	newRunner(b, t int) (runner, error)
}

// runner computes causal forward passes.
type runner interface {
	// forward takes b sequences of t tokens each (b and t at most the sizes
	// the runner was made for), row-major in tokens, and returns the logits
	// [b·t, vocab]. The slice may be reused by the next call.
	forward(tokens []int32, b, t int) ([]float32, error)
}

// memoryBound is implemented by an lm whose runners hold memory in
// proportion to their size (the model adapter): fitRunners is how many
// runners of b sequences of t tokens fit in memory together.
type memoryBound interface {
	fitRunners(b, t int) int
}

// runnerCount is workerCount, lowered so that the runners of b × t of m
// fit in memory together (one at least: making it reports what does not
// fit). Results do not depend on the number of workers.
func runnerCount(m lm, requested, jobs, b, t int) int {
	w := workerCount(requested, jobs)
	if mb, ok := m.(memoryBound); ok {
		w = max(1, min(w, mb.fitRunners(b, t)))
	}
	return w
}
