package pruning

import (
	"context"
	"errors"
	"fmt"
	"math"

	"lopper/model"
)

// Structured pruning removes whole structures — MLP neurons, attention
// heads, transformer blocks — and returns a physically smaller dense model
// (see Slice). PruneStructured is the entry point that the top-level
// pruning dispatch routes the patterns neurons, heads and layers to.

// Structure is the kind of structure removed.
type Structure string

const (
	// Neurons are MLP neurons: Llama row j of gate_proj and up_proj (and
	// their biases) with column j of down_proj; GPT-2 row j of c_fc (and
	// its bias) with column j of mlp.c_proj.
	StructNeurons Structure = "neurons"
	// Heads are attention heads (see HeadMode for grouped-query attention).
	StructHeads Structure = "heads"
	// Layers are whole transformer blocks.
	StructLayers Structure = "layers"
)

// HeadMode says how heads are removed under grouped-query attention. For
// multi-head attention (GPT-2, or Llama with as many kv heads as heads)
// both modes remove single heads and give the same result.
type HeadMode string

const (
	// HeadsKVGroups (the default) removes a kv head together with its query
	// group: the q rows of the group's heads, the k and v rows of the kv
	// head and the o columns of the group's heads. It shrinks the KV cache
	// and keeps the group size, so num_attention_heads / num_key_value_heads
	// is unchanged.
	HeadsKVGroups HeadMode = "kv_groups"
	// HeadsQuery removes query heads evenly from every group (the same
	// number from each, each group choosing its own lowest-scored heads),
	// so num_attention_heads stays a multiple of num_key_value_heads and the
	// kv heads are all kept. The unit of removal is one query head per
	// group; counts and ratios refer to these units.
	HeadsQuery HeadMode = "query_heads"
)

// StructCriterion scores structures; the lowest-scored are removed.
type StructCriterion string

const (
	// ByL1 is the L1 norm of all the parameters a structure owns (weights
	// and biases that are removed with it).
	ByL1 StructCriterion = "l1"
	// ByL2 is the L2 norm of the same parameters.
	ByL2 StructCriterion = "l2"
	// Activation is the L2 norm, over all calibration tokens, of the
	// structure's output activation: the input of down_proj / c_proj for a
	// neuron, the attention output of a head (the input of o_proj's
	// columns), summed in squares over a kv group's heads.
	ByActivation StructCriterion = "activation"
	// Wanda is the structured Wanda score: Σ |W_ij|·‖X_j‖₂ over the output
	// projection columns j the structure owns (down_proj for a neuron,
	// o_proj for a head), X from calibration data.
	ByWanda StructCriterion = "wanda"
	// Taylor is first-order Taylor importance Σ |w·∂L/∂w| over the
	// structure's parameters, the gradient being that of the mean
	// cross-entropy over the calibration windows (dense model).
	ByTaylor StructCriterion = "taylor"
	// BlockInfluence scores a layer i by ShortGPT's BI_i = 1 − mean over
	// calibration tokens of cos(h_in, h_out) (layers only).
	ByBlockInfluence StructCriterion = "block_influence"
	// Random scores are uniform in [0, 1), seeded by Seed.
	ByRandom StructCriterion = "random"
)

// Allocation is the comparison group for neurons and heads.
type Allocation string

const (
	// AllocPerLayer (the default) removes the same fraction of every layer's
	// structures.
	AllocPerLayer Allocation = "layer"
	// AllocGlobal ranks all layers' structures together after dividing each
	// layer's scores by their mean, so layers whose scores run on different
	// scales compete fairly. The counts per layer may then differ; see
	// NonUniformPolicy. Every layer keeps at least one structure.
	AllocGlobal Allocation = "global"
)

// NonUniformPolicy says what to do when global allocation would leave
// layers with different dimensions, which Hugging Face configs cannot
// express.
type NonUniformPolicy string

const (
	// NonUniformRound (the default) keeps the same number of structures in
	// every layer: the mean over layers of what the global ranking keeps,
	// rounded to nearest; each layer keeps its highest-scored ones. The
	// result loads in Hugging Face.
	NonUniformRound NonUniformPolicy = "round"
	// NonUniformKeep keeps the global allocation. The model runs in lopper
	// and saves with its per-layer dims in config.json's lopper_dims
	// (lopper.json says hf_compatible: false), but Hugging Face cannot load
	// it.
	NonUniformKeep NonUniformPolicy = "keep"
	// NonUniformRefuse fails with an error listing the per-layer counts.
	NonUniformRefuse NonUniformPolicy = "refuse"
)

// StructuredOptions configure PruneStructured.
type StructuredOptions struct {
	Structure Structure
	// Criterion defaults to ByL2 for neurons and heads and
	// ByBlockInfluence for layers.
	Criterion StructCriterion
	// Ratio is the fraction of units to remove (neurons, kv groups or
	// query-head slots per layer, or layers), rounded to nearest. Count,
	// when positive, gives the number instead: per layer for neurons and
	// heads (AllocGlobal scope removes Count × layers in all), in all for
	// layers. Exactly one must be set.
	Ratio float64
	Count int
	// HeadMode defaults to HeadsKVGroups.
	HeadMode HeadMode
	// Scope defaults to AllocPerLayer; NonUniform to NonUniformRound.
	Scope      Allocation
	NonUniform NonUniformPolicy
	// Calibration holds the windows ByActivation, ByWanda, ByTaylor and
	// ByBlockInfluence compute their statistics on, in one pass over the
	// model as given (its Batch windows per forward pass; Taylor keeps a
	// training State of Batch windows, every layer's activations).
	Calibration *Calibration
	// Seed seeds Random.
	Seed uint64
	// Progress, if set, is told how far scoring has come (see
	// ProgressFunc); it does not change the result.
	Progress ProgressFunc
}

// StructuredReport says what PruneStructured removed.
type StructuredReport struct {
	Structure Structure       `json:"structure"`
	Criterion StructCriterion `json:"criterion"`
	HeadMode  HeadMode        `json:"head_mode,omitempty"`
	Scope     Allocation      `json:"scope,omitempty"`
	// Removed lists what each source layer lost, by source index.
	Removed []LayerRemoval `json:"removed"`
	// DimsBefore and DimsAfter are the per-layer dims (After has one entry
	// per surviving layer).
	DimsBefore []model.LayerDims `json:"dims_before"`
	DimsAfter  []model.LayerDims `json:"dims_after"`
	// ParamsBefore and ParamsAfter count parameters (tied embeddings once).
	ParamsBefore int `json:"params_before"`
	ParamsAfter  int `json:"params_after"`
	// Rounded is set when a non-uniform global allocation was rounded to
	// a uniform shape; GlobalCounts then holds what the global ranking
	// would have removed per layer.
	Rounded      bool  `json:"rounded,omitempty"`
	GlobalCounts []int `json:"global_counts,omitempty"`
	// HFCompatible is whether Hugging Face can load the result; HFReason
	// says why not.
	HFCompatible bool   `json:"hf_compatible"`
	HFReason     string `json:"hf_reason,omitempty"`
	// Scores are the per-layer unit scores the decision used (one slice
	// for Layers).
	Scores [][]float64 `json:"scores"`
}

// LayerRemoval is what one source layer lost.
type LayerRemoval struct {
	Layer   int   `json:"layer"`
	Dropped bool  `json:"dropped,omitempty"`
	Neurons []int `json:"neurons,omitempty"`
	Heads   []int `json:"heads,omitempty"`
	KVHeads []int `json:"kv_heads,omitempty"`
}

// PruneStructured scores m's structures, chooses which to remove and
// returns a new, smaller model (m is not modified) with a report. Removing
// every structure of a layer, or every layer, is refused: at least one
// neuron, one head (kv group) per layer and one layer always remain, and a
// request that would remove them all is an error.
func PruneStructured(ctx context.Context, m *model.Model, o StructuredOptions) (*model.Model, *StructuredReport, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	c := &m.Config
	if o.Structure == StructHeads && multiHead(c) {
		o.HeadMode = HeadsKVGroups // single heads either way; its units are the heads
	}
	if err := validateCalibration(o, c); err != nil {
		return nil, nil, err
	}
	scores, err := scoreUnits(ctx, m, o)
	if err != nil {
		return nil, nil, err
	}
	rep := &StructuredReport{
		Structure: o.Structure, Criterion: o.Criterion, Scores: scores,
		DimsBefore: append([]model.LayerDims(nil), c.Layers...), ParamsBefore: m.NumParams(),
	}
	var plan Plan
	if o.Structure == StructLayers {
		plan, err = planLayers(c, scores[0], o)
	} else {
		rep.HeadMode, rep.Scope = o.HeadMode, o.Scope
		plan, err = planWithinLayers(c, scores, o, rep)
	}
	if err != nil {
		return nil, nil, err
	}
	out, err := Slice(m, plan)
	if err != nil {
		return nil, nil, err
	}
	rep.Removed = plan.removals(c)
	rep.DimsAfter = append([]model.LayerDims(nil), out.Config.Layers...)
	rep.ParamsAfter = out.NumParams()
	rep.HFCompatible = true
	if err := out.Config.HFCompatible(); err != nil {
		rep.HFCompatible, rep.HFReason = false, err.Error()
	}
	return out, rep, nil
}

// withDefaults fills defaults and checks the options.
func (o StructuredOptions) withDefaults() (StructuredOptions, error) {
	switch o.Structure {
	case StructNeurons, StructHeads:
		if o.Criterion == "" {
			o.Criterion = ByL2
		}
		switch o.Criterion {
		case ByL1, ByL2, ByActivation, ByWanda, ByTaylor, ByRandom:
		default:
			return o, fmt.Errorf("criterion %q does not score %s (want l1, l2, activation, wanda, taylor or random)", o.Criterion, o.Structure)
		}
	case StructLayers:
		if o.Criterion == "" {
			o.Criterion = ByBlockInfluence
		}
		switch o.Criterion {
		case ByBlockInfluence, ByTaylor, ByRandom:
		default:
			return o, fmt.Errorf("criterion %q does not score whole layers (want block_influence, taylor or random)", o.Criterion)
		}
	default:
		return o, fmt.Errorf("structure %q: want neurons, heads or layers", o.Structure)
	}
	if o.HeadMode == "" {
		o.HeadMode = HeadsKVGroups
	}
	if o.HeadMode != HeadsKVGroups && o.HeadMode != HeadsQuery {
		return o, fmt.Errorf("head mode %q: want kv_groups or query_heads", o.HeadMode)
	}
	if o.Scope == "" {
		o.Scope = AllocPerLayer
	}
	if o.Scope != AllocPerLayer && o.Scope != AllocGlobal {
		return o, fmt.Errorf("structured scope %q: want layer or global", o.Scope)
	}
	if o.Structure == StructLayers && o.Scope == AllocGlobal {
		o.Scope = AllocPerLayer // layers are one group already
	}
	if o.NonUniform == "" {
		o.NonUniform = NonUniformRound
	}
	switch o.NonUniform {
	case NonUniformRound, NonUniformKeep, NonUniformRefuse:
	default:
		return o, fmt.Errorf("non-uniform policy %q: want round, keep or refuse", o.NonUniform)
	}
	ratioSet := o.Ratio != 0
	if ratioSet == (o.Count != 0) {
		return o, errors.New("give exactly one of a ratio and a count of structures to remove")
	}
	if ratioSet && !(o.Ratio > 0 && o.Ratio < 1) {
		return o, fmt.Errorf("ratio %g: want a fraction strictly between 0 and 1", o.Ratio)
	}
	if o.Count < 0 {
		return o, fmt.Errorf("count %d: must be positive", o.Count)
	}
	return o, nil
}

// needsCalibration reports whether the criterion reads calibration data.
func (c StructCriterion) needsCalibration() bool {
	switch c {
	case ByActivation, ByWanda, ByTaylor, ByBlockInfluence:
		return true
	}
	return false
}

// validateCalibration checks the windows when the criterion needs them.
func validateCalibration(o StructuredOptions, c *model.Config) error {
	if !o.Criterion.needsCalibration() {
		return nil
	}
	if o.Calibration == nil {
		return fmt.Errorf("criterion %q needs calibration data (token windows)", o.Criterion)
	}
	if err := o.Calibration.validate(c.Vocab, c.MaxPos); err != nil {
		return err
	}
	if o.Criterion == ByTaylor && o.Calibration.SeqLen < 2 {
		return fmt.Errorf("calibration: Taylor scores need windows of at least 2 tokens (a next-token target), got %d", o.Calibration.SeqLen)
	}
	return nil
}

// removeCount is how many of n units a ratio or count removes.
func removeCount(o StructuredOptions, n int) int {
	if o.Count > 0 {
		return o.Count
	}
	return int(math.Round(o.Ratio * float64(n)))
}
