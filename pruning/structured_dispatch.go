package pruning

import (
	"context"
	"fmt"

	"lopper/model"
)

// Methods that exist only for structured patterns: they name the
// StructCriterion of the same name through Options.
const (
	MethodL1         Method = Method(ByL1)         // neurons, heads
	MethodL2         Method = Method(ByL2)         // neurons, heads
	MethodActivation Method = Method(ByActivation) // neurons, heads
	// MethodBlockInfluence scores only whole layers.
	MethodBlockInfluence Method = Method(ByBlockInfluence)
)

// StructuredOptionsFrom translates the top-level Options of a structured
// pattern (neurons, heads, layers) into StructuredOptions:
//
//   - Sparsity is the fraction of units removed (neurons, kv groups or
//     layers), rounded to nearest.
//   - Method: l1, l2, activation, wanda, taylor, random and
//     block_influence select the criterion of that name; magnitude is l2
//     (the L2 norm of each structure's parameters). Whole layers are
//     scored by block_influence, taylor or random; sparsegpt reconstructs
//     weights and has no structured form.
//   - Scope row or layer → the same fraction per layer; global → global
//     ranking; owl is refused.
//   - Calib, Seed, Progress, HeadMode (heads only) and NonUniform carry over, empty
//     meaning the defaults (kv groups; round to uniform); Targets do not
//     apply.
//
// The result is checked as PruneStructured checks it, but returned as
// mapped, without defaults filled in.
func StructuredOptionsFrom(o Options) (StructuredOptions, error) {
	so := StructuredOptions{Ratio: o.Sparsity, Calibration: o.Calib, Seed: o.Seed, HeadMode: o.HeadMode, NonUniform: o.NonUniform, Progress: o.Progress}
	if err := CheckSparsity(o.Sparsity); err != nil {
		return so, fmt.Errorf("sparsity %w", err)
	}
	switch o.Pattern.Kind {
	case Neurons:
		so.Structure = StructNeurons
	case Heads:
		so.Structure = StructHeads
	case Layers:
		so.Structure = StructLayers
	default:
		return so, fmt.Errorf("pattern %s is not structured", o.Pattern)
	}
	switch o.Method {
	case Magnitude, MethodL1, MethodL2, MethodActivation:
		if so.Structure == StructLayers {
			return so, fmt.Errorf("%s does not score whole layers; use block_influence, taylor or random", o.Method)
		}
		so.Criterion = StructCriterion(o.Method)
		if o.Method == Magnitude {
			so.Criterion = ByL2
		}
	case Wanda:
		so.Criterion = ByWanda
	case Taylor:
		so.Criterion = ByTaylor
	case Random:
		so.Criterion = ByRandom
	case MethodBlockInfluence:
		if so.Structure != StructLayers {
			return so, fmt.Errorf("block_influence scores whole layers, not %s", o.Pattern)
		}
		so.Criterion = ByBlockInfluence
	default:
		want := "l1, l2 (magnitude), activation, wanda, taylor or random"
		if so.Structure == StructLayers {
			want = "block_influence, taylor or random"
		}
		return so, fmt.Errorf("method %q has no structured form (the %s pattern takes %s)", o.Method, o.Pattern, want)
	}
	switch o.Scope {
	case "", ScopeRow, ScopeLayer:
		so.Scope = AllocPerLayer
	case ScopeGlobal:
		so.Scope = AllocGlobal
	default:
		return so, fmt.Errorf("scope %s does not apply to the %s pattern (want layer or global)", o.Scope, o.Pattern)
	}
	if len(o.Targets.Include)+len(o.Targets.Ignore) > 0 {
		return so, fmt.Errorf("the %s pattern removes whole structures of every block; targets and ignore patterns do not apply", o.Pattern)
	}
	if !(o.Sparsity > 0 && o.Sparsity < 1) {
		return so, fmt.Errorf("the %s pattern needs a sparsity strictly between 0 and 1 (the fraction of %s to remove), got %g", o.Pattern, o.Pattern, o.Sparsity)
	}
	if o.HeadMode != "" && so.Structure != StructHeads {
		return so, fmt.Errorf("head mode applies to pattern heads only, not %s", o.Pattern)
	}
	if _, err := so.withDefaults(); err != nil {
		return so, err
	}
	return so, nil
}

// pruneStructured is the entry point Prune routes structured patterns to.
func pruneStructured(ctx context.Context, m *model.Model, o Options) (*model.Model, *StructuredReport, error) {
	so, err := StructuredOptionsFrom(o)
	if err != nil {
		return nil, nil, err
	}
	return PruneStructured(ctx, m, so)
}
