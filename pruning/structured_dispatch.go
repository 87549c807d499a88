package pruning

import (
	"context"
	"fmt"

	"lopper/model"
)

// MethodBlockInfluence is the method name that selects Block Influence for
// the layers pattern through Options (it scores only whole layers).
const MethodBlockInfluence Method = Method(ByBlockInfluence)

// StructuredOptionsFrom translates the top-level Options of a structured
// pattern (neurons, heads, layers) into StructuredOptions:
//
//   - Sparsity is the fraction of units removed (neurons, kv groups or
//     layers), rounded to nearest.
//   - Method: magnitude → the L2 norm of each structure's parameters,
//     wanda → structured Wanda, taylor → Taylor, random → random,
//     block_influence → Block Influence (layers only). Whole layers are
//     scored by block_influence, taylor or random; sparsegpt reconstructs
//     weights and has no structured form.
//   - Scope row or layer → the same fraction per layer; global → global
//     ranking (rounded to a uniform shape); owl is refused.
//   - Calib and Seed carry over. Head mode and the non-uniform policy take
//     their defaults (kv groups; round to uniform); Targets do not apply.
func StructuredOptionsFrom(o Options) (StructuredOptions, error) {
	so := StructuredOptions{Ratio: o.Sparsity, Calibration: o.Calib, Seed: o.Seed}
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
	case Magnitude:
		if so.Structure == StructLayers {
			return so, fmt.Errorf("magnitude does not score whole layers; use block_influence, taylor or random")
		}
		so.Criterion = ByL2
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
		want := "magnitude, wanda, taylor or random"
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
