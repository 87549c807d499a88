package pruning

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"lopper/model"
)

// Method is an importance criterion.
type Method string

const (
	Magnitude Method = "magnitude" // |W|
	Random    Method = "random"    // uniform scores from a seeded PCG
	Wanda     Method = "wanda"     // |W_ij|·‖X_j‖₂ (Sun et al. 2023)
	SparseGPT Method = "sparsegpt" // OBS with weight reconstruction (Frantar & Alistarh 2023)
	Taylor    Method = "taylor"    // |W·∂L/∂W| on calibration data
)

// Scope is the comparison group within which the lowest scores are pruned.
type Scope string

const (
	ScopeRow    Scope = "row"    // per output row (Wanda's default)
	ScopeLayer  Scope = "layer"  // per tensor
	ScopeGlobal Scope = "global" // one threshold across all targets
	// ScopeOWL: outlier-weighted layerwise sparsity (Yin et al. 2024), a
	// sparsity per block from its outlier ratio, then per output row.
	ScopeOWL Scope = "owl"
)

// CalibMode says where calibration statistics come from.
type CalibMode string

const (
	// Sequential: block by block, from the inputs that the already-pruned
	// earlier blocks produce (the default for Wanda and SparseGPT).
	Sequential CalibMode = "sequential"
	// OnePass: every statistic from the dense model in one pass.
	OnePass CalibMode = "one-pass"
)

// PatternKind is the shape of what is removed.
type PatternKind string

const (
	// Unstructured removes individual weights anywhere in a tensor.
	Unstructured PatternKind = "unstructured"
	// NM keeps at most N of every M consecutive inputs of each output.
	NM PatternKind = "n:m"
	// Neurons removes MLP neurons (rows of up/gate, columns of down); the
	// structured patterns are implemented in the structured*.go files.
	Neurons PatternKind = "neurons"
	// Heads removes attention heads or kv groups.
	Heads PatternKind = "heads"
	// Layers removes whole transformer blocks.
	Layers PatternKind = "layers"
)

// Pattern is a pruning pattern; N and M are set for NM ("2:4": N=2, M=4).
type Pattern struct {
	Kind PatternKind
	N, M int
}

// ParsePattern reads "unstructured", "N:M" (e.g. 2:4, 4:8), "neurons",
// "heads" or "layers". The empty string is unstructured.
func ParsePattern(s string) (Pattern, error) {
	switch PatternKind(s) {
	case "", Unstructured:
		return Pattern{Kind: Unstructured}, nil
	case Neurons, Heads, Layers:
		return Pattern{Kind: PatternKind(s)}, nil
	}
	a, b, ok := strings.Cut(s, ":")
	n, err1 := strconv.Atoi(a)
	m, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || m < 2 || n >= m || m > 64 {
		return Pattern{}, fmt.Errorf("pattern %q: want unstructured, N:M with 1 ≤ N < M ≤ 64 (e.g. 2:4, 4:8), neurons, heads or layers", s)
	}
	return Pattern{Kind: NM, N: n, M: m}, nil
}

// String renders the pattern as ParsePattern reads it ("2:4", "unstructured").
func (p Pattern) String() string {
	if p.Kind == NM {
		return fmt.Sprintf("%d:%d", p.N, p.M)
	}
	if p.Kind == "" {
		return string(Unstructured)
	}
	return string(p.Kind)
}

// structured reports whether p removes whole structures.
func (p Pattern) structured() bool {
	return p.Kind == Neurons || p.Kind == Heads || p.Kind == Layers
}

// OWLOptions are OWL's hyperparameters. The zero value means the paper's
// defaults: λ = 0.08 and M = 5 (Yin et al., "Outlier Weighed Layerwise
// Sparsity", ICML 2024, the values used for LLaMA at 70 %).
type OWLOptions struct {
	// Lambda bounds the spread: layer ratios are rescaled to a range of
	// width 2λ around the target sparsity.
	Lambda float64 `json:"lambda"`
	// M: a weight is an outlier when its score exceeds M times the mean
	// score of its block.
	M float64 `json:"m"`
}

// SparseGPTOptions tune SparseGPT. The zero value means the paper's
// defaults: 1 % dampening and blocks of 128 columns.
type SparseGPTOptions struct {
	PercDamp  float64 `json:"percdamp"`
	BlockSize int     `json:"blocksize"`
}

// Options say how Prune prunes. The zero values of Scope and CalibMode
// pick each method's default (Scope: row for Wanda, layer otherwise;
// CalibMode: sequential).
type Options struct {
	Method   Method
	Sparsity float64 // fraction of each comparison group to end pruned; N:M fixes it at 1−N/M
	Pattern  Pattern
	Scope    Scope
	Targets  TargetSpec
	// Calib holds calibration windows, needed by Wanda, SparseGPT and
	// Taylor.
	//
	// OWL's layer outlier ratios come from the method's scores: Wanda's
	// (the paper), magnitude's (the paper's weight-outlier ablation) or
	// Taylor's; SparseGPT, which has no scores of its own, uses Wanda
	// scores from a one-pass calibration of the dense model (as OWL's code
	// does).
	Calib     *Calibration
	CalibMode CalibMode
	Seed      uint64 // Random's seed
	OWL       OWLOptions
	SparseGPT SparseGPTOptions
	// HeadMode (pattern heads) and NonUniform (neurons and heads with
	// scope global) apply to structured patterns only; empty means
	// StructuredOptions' defaults.
	HeadMode   HeadMode
	NonUniform NonUniformPolicy
	// Progress, if set, is told how far the work has come (see
	// ProgressFunc); it does not change the result.
	Progress ProgressFunc
	// Done, if set, is told which targets are final, so that a caller can
	// save them (model.Writer) while the others are pruned: unstructured
	// and N:M pruning call it with the model being pruned (m itself under
	// PruneInPlace, the copy Prune returns otherwise) and targets whose
	// weights are pruned and masked and which pruning will not read again,
	// every target exactly once, before returning; Streaming says when. An
	// error from Done stops pruning and is returned. The report's counts of
	// a target are taken when it is handed over. Structured patterns never
	// call it (they build a new model: save that).
	Done func(w *model.Model, ts []model.TensorInfo) error
}

// CheckSparsity is the one rule for a requested sparsity, shared by
// Options (lopper prune's --sparsity) and the prune stage's sparsity and
// schedule: a fraction in [0, 1). Pruning every weight (1) leaves a model
// that predicts from its biases alone, which no caller wants; its message
// reads after the name of the field ("sparsity must be in [0, 1), got 1").
func CheckSparsity(s float64) error {
	if !(s >= 0 && s < 1) {
		return fmt.Errorf("must be in [0, 1), got %g", s)
	}
	return nil
}

// normalize fills defaults and validates o, with errors that say which
// option is wrong and what is allowed.
//
// Structured patterns are only checked for their sparsity (CheckSparsity): the
// structured half validates its own methods and scopes.
func (o Options) normalize() (Options, error) {
	if o.Pattern.Kind == "" {
		o.Pattern.Kind = Unstructured
	}
	if err := CheckSparsity(o.Sparsity); err != nil {
		return o, fmt.Errorf("sparsity %w", err)
	}
	if o.Pattern.structured() {
		return o, nil
	}
	if o.HeadMode != "" || o.NonUniform != "" {
		return o, fmt.Errorf("head mode and non-uniform policy apply to the structured patterns (neurons, heads, layers), not %s", o.Pattern)
	}
	switch o.Method {
	case Magnitude, Random, Wanda, SparseGPT, Taylor:
	case MethodL1, MethodL2, MethodActivation, MethodBlockInfluence:
		return o, fmt.Errorf("method %s scores whole structures: use it with the structured patterns (neurons, heads, layers), not %s", o.Method, o.Pattern)
	case "":
		return o, fmt.Errorf("no pruning method given (want magnitude, random, wanda, sparsegpt or taylor)")
	default:
		return o, fmt.Errorf("unknown pruning method %q (want magnitude, random, wanda, sparsegpt or taylor)", o.Method)
	}
	if o.Pattern.Kind == NM {
		want := 1 - float64(o.Pattern.N)/float64(o.Pattern.M)
		if o.Sparsity != 0 && math.Abs(o.Sparsity-want) > 1e-9 {
			return o, fmt.Errorf("pattern %s fixes sparsity at %g; got sparsity %g", o.Pattern, want, o.Sparsity)
		}
		o.Sparsity = want
	}
	if o.Scope == "" {
		o.Scope = ScopeLayer
		if o.Method == Wanda || o.Pattern.Kind == NM {
			o.Scope = ScopeRow
		}
	}
	switch o.Scope {
	case ScopeRow, ScopeLayer, ScopeGlobal, ScopeOWL:
	default:
		return o, fmt.Errorf("unknown scope %q (want row, layer, global or owl)", o.Scope)
	}
	if o.Pattern.Kind == NM && o.Scope != ScopeRow {
		return o, fmt.Errorf("pattern %s groups inputs within each row; scope %s does not apply", o.Pattern, o.Scope)
	}
	if o.Method == SparseGPT && o.Pattern.Kind == Unstructured && o.Scope != ScopeLayer && o.Scope != ScopeOWL {
		return o, fmt.Errorf("sparsegpt chooses its mask within each tensor, per block of columns, as it updates the weights; scope %s does not apply (use layer, or owl for per-layer ratios)", o.Scope)
	}
	if o.Method == Random && o.Scope == ScopeOWL {
		return o, fmt.Errorf("scope owl weighs layers by their score outliers; random scores have none")
	}
	if o.CalibMode == "" {
		o.CalibMode = Sequential
	}
	if o.CalibMode != Sequential && o.CalibMode != OnePass {
		return o, fmt.Errorf("unknown calibration mode %q (want sequential or one-pass)", o.CalibMode)
	}
	if o.Method == Wanda && o.CalibMode == Sequential && o.Scope == ScopeGlobal {
		return o, fmt.Errorf("scope global compares all targets at once, which block-by-block calibration cannot; use calibration mode one-pass")
	}
	if o.OWL.Lambda == 0 {
		o.OWL.Lambda = 0.08
	}
	if o.OWL.M == 0 {
		o.OWL.M = 5
	}
	if !(o.OWL.Lambda > 0 && o.OWL.Lambda < 1) || !(o.OWL.M > 0) {
		return o, fmt.Errorf("OWL needs 0 < λ < 1 and M > 0, got λ=%g M=%g", o.OWL.Lambda, o.OWL.M)
	}
	if o.SparseGPT.PercDamp == 0 {
		o.SparseGPT.PercDamp = 0.01
	}
	if o.SparseGPT.BlockSize == 0 {
		o.SparseGPT.BlockSize = 128
	}
	if !(o.SparseGPT.PercDamp > 0) || o.SparseGPT.BlockSize < 1 {
		return o, fmt.Errorf("sparsegpt needs percdamp > 0 and blocksize ≥ 1, got %g and %d", o.SparseGPT.PercDamp, o.SparseGPT.BlockSize)
	}
	if o.Method == SparseGPT && o.Pattern.Kind == NM && o.SparseGPT.BlockSize%o.Pattern.M != 0 {
		return o, fmt.Errorf("sparsegpt %s needs a blocksize that is a multiple of %d, got %d", o.Pattern, o.Pattern.M, o.SparseGPT.BlockSize)
	}
	return o, nil
}

// needsCalib reports whether o needs calibration windows.
func (o Options) needsCalib() bool { return o.Method.NeedsCalibration() }

// NeedsCalibration reports whether the method computes its scores from
// calibration windows (wanda, sparsegpt, taylor, activation,
// block_influence).
func (m Method) NeedsCalibration() bool {
	switch m {
	case Wanda, SparseGPT, Taylor, MethodActivation, MethodBlockInfluence:
		return true
	}
	return false
}
