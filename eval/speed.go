package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
)

// SpeedOptions sets a forward-pass timing.
type SpeedOptions struct {
	// Batch and SeqLen are the shape of each timed forward pass; 0 means 1
	// and the model's maximum positions.
	Batch  int
	SeqLen int
	// Warmup untimed passes precede Repeats timed ones; 0 means 2 and 10.
	Warmup  int
	Repeats int
	// Seed seeds the random input tokens.
	Seed uint64
}

// SpeedResult is forward throughput and latency, with the machine it was
// measured on.
type SpeedResult struct {
	// TokensPerSec is Batch·SeqLen divided by the median latency.
	TokensPerSec float64 `json:"tokens_per_sec"`
	// LatencyMS is the median wall time of one forward pass;
	// LatencyMinMS and LatencyMaxMS its extremes over the repeats.
	LatencyMS    float64 `json:"latency_ms"`
	LatencyMinMS float64 `json:"latency_min_ms"`
	LatencyMaxMS float64 `json:"latency_max_ms"`
	Batch        int     `json:"batch"`
	SeqLen       int     `json:"seq_len"`
	Warmup       int     `json:"warmup"`
	Repeats      int     `json:"repeats"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	CPU          string  `json:"cpu"`
	GOARCH       string  `json:"goarch"`
}

// Metrics returns tokens_per_sec and latency_ms.
func (r SpeedResult) Metrics() Metrics {
	return Metrics{MetricTokensPerSec: r.TokensPerSec, MetricLatencyMS: r.LatencyMS}
}

// withDefaults fills the defaults of opts for m and checks them.
func (opts SpeedOptions) withDefaults(m lm) (SpeedOptions, error) {
	if opts.Batch < 0 || opts.SeqLen < 0 || opts.Warmup < 0 || opts.Repeats < 0 {
		return opts, fmt.Errorf("speed: batch, seq_len, warmup and repeats must not be negative")
	}
	if opts.Batch == 0 {
		opts.Batch = 1
	}
	if opts.SeqLen == 0 {
		opts.SeqLen = m.maxPositions()
	}
	if opts.SeqLen > m.maxPositions() {
		return opts, fmt.Errorf("speed: seq_len %d exceeds the model's %d positions", opts.SeqLen, m.maxPositions())
	}
	if opts.Warmup == 0 {
		opts.Warmup = 2
	}
	if opts.Repeats == 0 {
		opts.Repeats = 10
	}
	return opts, nil
}

// measureSpeed times forward passes of m on random tokens.
func measureSpeed(ctx context.Context, m lm, opts SpeedOptions) (SpeedResult, error) {
	opts, err := opts.withDefaults(m)
	if err != nil {
		return SpeedResult{}, err
	}
	b, t, warm, reps := opts.Batch, opts.SeqLen, opts.Warmup, opts.Repeats
	r, err := m.newRunner(b, t)
	if err != nil {
		return SpeedResult{}, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x73706565640a)) // "speed"
	tokens := make([]int32, b*t)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(m.vocab()))
	}
	times := make([]float64, 0, reps)
	for i := range warm + reps {
		if err := ctx.Err(); err != nil {
			return SpeedResult{}, err
		}
		start := time.Now()
		if _, err := r.forward(tokens, b, t); err != nil {
			return SpeedResult{}, err
		}
		if i >= warm {
			times = append(times, float64(time.Since(start).Nanoseconds())/1e6)
		}
	}
	slices.Sort(times)
	med := median(times)
	return SpeedResult{
		TokensPerSec: float64(b*t) / (med / 1e3), LatencyMS: med,
		LatencyMinMS: times[0], LatencyMaxMS: times[len(times)-1],
		Batch: b, SeqLen: t, Warmup: warm, Repeats: reps,
		GOMAXPROCS: runtime.GOMAXPROCS(0), CPU: cpuName(), GOARCH: runtime.GOARCH,
	}, nil
}

// median of sorted, non-empty values (the mean of the middle two for an
// even count).
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
