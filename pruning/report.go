package pruning

import (
	"lopper/internal/par"
	"lopper/model"
)

// TensorReport is what pruning did to one tensor.
type TensorReport struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	// Params is the tensor's size; NonZeroBefore and NonZeroAfter count
	// its entries that are not exactly zero. In a dry run NonZeroAfter is
	// the planned count, or -1 when it depends on scores (global, OWL).
	Params        int `json:"params"`
	NonZeroBefore int `json:"nonzero_before"`
	NonZeroAfter  int `json:"nonzero_after"`
}

// Report says what a prune call removed. Totals are over the targets.
type Report struct {
	Method    Method    `json:"method"`
	Pattern   string    `json:"pattern"`
	Scope     Scope     `json:"scope"`
	CalibMode CalibMode `json:"calib_mode,omitempty"`
	// Sparsity is the requested sparsity.
	Sparsity float64 `json:"sparsity"`
	// LayerSparsity is the target per block when it differs by block
	// (OWL).
	LayerSparsity []float64 `json:"layer_sparsity,omitempty"`
	CalibSamples  int       `json:"calib_samples,omitempty"`
	CalibSeqLen   int       `json:"calib_seq_len,omitempty"`
	DryRun        bool      `json:"dry_run,omitempty"`
	// Structured is the structured half's report (patterns neurons,
	// heads, layers); Tensors is empty then, and the totals count the
	// model's parameters before and after surgery.
	Structured *StructuredReport `json:"structured,omitempty"`

	// ModelParams counts every parameter of the model before pruning,
	// EmbeddingParams its embedding tables (model.IsEmbedding) and
	// EmbeddingShare their fraction: what pruning the blocks leaves alone,
	// most of a small encoder's parameters (targets may name them).
	ModelParams     int     `json:"model_params"`
	EmbeddingParams int     `json:"embedding_params"`
	EmbeddingShare  float64 `json:"embedding_share"`

	Tensors       []TensorReport `json:"tensors"`
	Params        int            `json:"params"`
	NonZeroBefore int            `json:"nonzero_before"`
	// NonZeroAfter is -1 in a dry run whose outcome depends on scores.
	NonZeroAfter int `json:"nonzero_after"`
}

// Removed is the number of target weights that became zero (−1 when
// unknown).
func (r *Report) Removed() int {
	if r.NonZeroAfter < 0 {
		return -1
	}
	return r.NonZeroBefore - r.NonZeroAfter
}

// SparsityBefore and SparsityAfter are the fractions of the targets that
// are zero.
func (r *Report) SparsityBefore() float64 { return zeroFrac(r.NonZeroBefore, r.Params) }

// SparsityAfter is −1 when unknown (a dry run that depends on scores).
func (r *Report) SparsityAfter() float64 {
	if r.NonZeroAfter < 0 {
		return -1
	}
	return zeroFrac(r.NonZeroAfter, r.Params)
}

func zeroFrac(nonzero, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(n-nonzero) / float64(n)
}

// newReport starts a report for o over targets of m, counting what is
// non-zero before pruning when count is set (of a lazy model,
// finisher.begin counts each target when it is pinned).
func newReport(m *model.Model, o Options, targets []model.TensorInfo, count bool) *Report {
	r := &Report{Method: o.Method, Pattern: o.Pattern.String(), Scope: o.Scope, Sparsity: o.Sparsity}
	r.countEmbeddings(m)
	if o.needsCalib() {
		if o.Method != Taylor { // Taylor's gradient is one pass by nature
			r.CalibMode = o.CalibMode
		}
		if o.Calib != nil {
			r.CalibSamples, r.CalibSeqLen = o.Calib.Samples(), o.Calib.SeqLen
		}
	}
	r.Tensors = make([]TensorReport, len(targets))
	par.For(len(targets), func(i int) {
		t := targets[i]
		r.Tensors[i] = TensorReport{Name: t.Name, Shape: t.Shape, Params: t.Size}
		if count {
			r.Tensors[i].NonZeroBefore = m.NonZero(t)
		}
	})
	for _, t := range r.Tensors {
		r.Params += t.Params
		r.NonZeroBefore += t.NonZeroBefore
	}
	return r
}

// finish records the non-zeros of out's targets after pruning.
func (r *Report) finish(out *model.Model, targets []model.TensorInfo) {
	par.For(len(targets), func(i int) {
		r.Tensors[i].NonZeroAfter = out.NonZero(targets[i])
	})
	r.total()
}

// total sums the targets' non-zeros after pruning.
func (r *Report) total() {
	r.NonZeroAfter = 0
	for _, t := range r.Tensors {
		r.NonZeroAfter += t.NonZeroAfter
	}
}

// structuredReport wraps the structured half's report on m.
func structuredReport(m *model.Model, o Options, sr *StructuredReport) *Report {
	r := &Report{
		Method: o.Method, Pattern: o.Pattern.String(), Scope: o.Scope, Sparsity: o.Sparsity,
		Structured: sr, Params: sr.ParamsBefore, NonZeroBefore: sr.ParamsBefore, NonZeroAfter: sr.ParamsAfter,
	}
	r.countEmbeddings(m)
	return r
}

// countEmbeddings fills in the model and embedding parameter counts of m.
func (r *Report) countEmbeddings(m *model.Model) {
	r.ModelParams, r.EmbeddingParams = m.NumParams(), 0
	for _, t := range m.Layout.Tensors {
		if model.IsEmbedding(t) {
			r.EmbeddingParams += t.Size
		}
	}
	r.EmbeddingShare = 0
	if r.ModelParams > 0 {
		r.EmbeddingShare = float64(r.EmbeddingParams) / float64(r.ModelParams)
	}
}
