package pruning

import (
	"fmt"
	"slices"

	"lopper/model"
)

// Plan says which structures of each layer of a model survive structured
// pruning. Slice applies it physically; MaskPlan applies it as a mask.
type Plan struct {
	// Layers has one entry per layer of the source model.
	Layers []LayerPlan
}

// LayerPlan lists what one layer keeps. Index lists are ascending source
// indices; nil keeps everything, an empty non-nil list keeps nothing (an
// error: a layer needs at least one neuron and one head).
type LayerPlan struct {
	// Drop removes the whole block (the other fields are then ignored).
	Drop bool
	// Heads are the query heads kept; KVHeads the key/value heads kept.
	// Each kept kv head must keep the same number of query heads of its
	// group, and each kept query head's kv head must be kept, so that
	// num_attention_heads stays a multiple of num_key_value_heads. For
	// GPT-2 KVHeads must be nil or equal Heads.
	Heads, KVHeads []int
	// Neurons are the MLP neurons (intermediate indices) kept.
	Neurons []int
}

// KeepAll returns the plan that keeps every structure of a model with
// config c.
func KeepAll(c *model.Config) Plan {
	return Plan{Layers: make([]LayerPlan, c.NumLayers())}
}

// resolved is a validated layer plan with every list explicit.
type resolved struct {
	src                    int // source layer
	heads, kvHeads, neuron []int
}

// resolve checks p against c and returns the surviving layers' explicit
// plans and their new dims.
func (p Plan) resolve(c *model.Config) ([]resolved, []model.LayerDims, error) {
	if len(p.Layers) != c.NumLayers() {
		return nil, nil, fmt.Errorf("plan has %d layers, the model %d", len(p.Layers), c.NumLayers())
	}
	var out []resolved
	var dims []model.LayerDims
	for i, lp := range p.Layers {
		if lp.Drop {
			continue
		}
		d := c.Layers[i]
		r := resolved{src: i}
		var err error
		if r.heads, err = keptList(lp.Heads, d.Heads, i, "query heads"); err != nil {
			return nil, nil, err
		}
		kv := lp.KVHeads
		if c.Arch == model.GPT2 {
			if kv != nil && !slices.Equal(kv, lp.Heads) {
				return nil, nil, fmt.Errorf("layer %d: GPT-2 has no grouped-query attention; kv heads %v must equal heads %v", i, kv, lp.Heads)
			}
			kv = lp.Heads
		}
		if r.kvHeads, err = keptList(kv, d.KVHeads, i, "kv heads"); err != nil {
			return nil, nil, err
		}
		if err := checkGroups(r.heads, r.kvHeads, d, i); err != nil {
			return nil, nil, err
		}
		if r.neuron, err = keptList(lp.Neurons, d.Intermediate, i, "MLP neurons"); err != nil {
			return nil, nil, err
		}
		out = append(out, r)
		dims = append(dims, model.LayerDims{Heads: len(r.heads), KVHeads: len(r.kvHeads), Intermediate: len(r.neuron)})
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("the plan drops all %d layers; at least one must remain", c.NumLayers())
	}
	return out, dims, nil
}

// keptList returns the explicit kept indices (all of 0..n−1 for nil) after
// checking that they are ascending, distinct, in range and not empty.
func keptList(keep []int, n, layer int, what string) ([]int, error) {
	if keep == nil {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("layer %d: the plan keeps none of the %d %s; at least one must remain", layer, n, what)
	}
	for k, i := range keep {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("layer %d: %s index %d is out of range [0, %d)", layer, what, i, n)
		}
		if k > 0 && i <= keep[k-1] {
			return nil, fmt.Errorf("layer %d: %s indices must be ascending and distinct, got %v", layer, what, keep)
		}
	}
	return keep, nil
}

// checkGroups enforces the grouped-query invariants: every kept query
// head's kv head is kept, and every kept kv head keeps the same number of
// query heads.
func checkGroups(heads, kvHeads []int, d model.LayerDims, layer int) error {
	rep := d.Heads / d.KVHeads
	per := make(map[int]int, len(kvHeads))
	for _, g := range kvHeads {
		per[g] = 0
	}
	for _, h := range heads {
		g := h / rep
		if _, ok := per[g]; !ok {
			return fmt.Errorf("layer %d: query head %d is kept but its kv head %d is removed", layer, h, g)
		}
		per[g]++
	}
	want := per[kvHeads[0]]
	for _, g := range kvHeads {
		if per[g] != want || per[g] == 0 {
			counts := make([]int, len(kvHeads))
			for k, g := range kvHeads {
				counts[k] = per[g]
			}
			return fmt.Errorf("layer %d: kept kv heads %v would keep %v query heads each; every kept kv head must keep the same positive number so that num_attention_heads stays a multiple of num_key_value_heads", layer, kvHeads, counts)
		}
	}
	return nil
}

// Slice returns a new dense model holding only what p keeps of m: rows and
// columns of the linear weights, entries of the biases, whole blocks for
// the kept layers (renumbered in order), with the config's per-layer dims
// (and so intermediate_size, num_attention_heads, num_key_value_heads,
// num_hidden_layers) updated. m's mask, if any, is sliced along; on-disk
// dtypes, tokenizer and metadata carry over. m is not modified. A plan
// that keeps everything gives a model identical to m.
func Slice(m *model.Model, p Plan) (*model.Model, error) {
	keep, dims, err := p.resolve(&m.Config)
	if err != nil {
		return nil, err
	}
	cfg := m.Config.Clone()
	src := make([]int, len(keep))
	for i, r := range keep {
		src[i] = r.src
	}
	cfg.SetLayers(src, dims) // per-layer kinds (sliding windows) follow their blocks
	out, err := model.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("structured model: %w", err)
	}
	if m.Mask != nil {
		out.Mask = out.Layout.NewMask() // every tensor's entries set below
	}
	// A sliced model keeps its source's on-disk dtypes so that Save writes
	// them (model.New made every tensor F32).
	dtypes := make(map[string]model.DType, len(out.Layout.Tensors))
	for _, t := range out.Layout.Tensors {
		src, rows, cols, err := sourceOf(m, t, keep)
		if err != nil {
			return nil, err
		}
		dtypes[t.Name] = src.DType
		copySlice(t.Of(out.W), src.Of(m.W), src, rows, cols)
		if m.Mask != nil {
			k := make([]byte, t.Size)
			copySlice(k, spanBytes(m.Mask, src.Offset, src.Offset+src.Size), src, rows, cols)
			out.Mask.Pack(t.Offset, k)
		}
	}
	if out.Layout, err = out.Layout.WithDTypes(dtypes); err != nil {
		return nil, err
	}
	out.TokenizerJSON = slices.Clone(m.TokenizerJSON)
	out.Meta = slices.Clone(m.Meta)
	out.Source = m.Source
	return out, nil
}

// sourceOf returns the source tensor of new tensor t and the source rows
// and columns it keeps (nil: all).
func sourceOf(m *model.Model, t model.TensorInfo, keep []resolved) (model.TensorInfo, []int, []int, error) {
	if t.Layer < 0 {
		src, ok := m.Layout.Lookup(t.Name)
		if !ok {
			return src, nil, nil, fmt.Errorf("tensor %q: not in the source model", t.Name)
		}
		return src, nil, nil, nil
	}
	r := keep[t.Layer]
	src, ok := m.Layout.Find(r.src, t.Role)
	if !ok {
		return src, nil, nil, fmt.Errorf("layer %d: source tensor for %q (role %s) is missing", r.src, t.Name, t.Role)
	}
	hd := m.Config.HeadDim
	d := m.Config.Layers[r.src]
	switch t.Role {
	case model.RoleQ, model.RoleQBias:
		return src, headRows(r.heads, hd, 0), nil, nil
	case model.RoleK, model.RoleV, model.RoleKBias, model.RoleVBias:
		return src, headRows(r.kvHeads, hd, 0), nil, nil
	case model.RoleQKV, model.RoleQKVBias:
		rows := headRows(r.heads, hd, 0)
		rows = append(rows, headRows(r.kvHeads, hd, d.Heads*hd)...)
		rows = append(rows, headRows(r.kvHeads, hd, (d.Heads+d.KVHeads)*hd)...)
		return src, rows, nil, nil
	case model.RoleQNorm, model.RoleKNorm:
		if !m.Config.QKNormWide { // one head's weights, shared by the heads
			return src, nil, nil, nil
		}
		// OLMo 2: the norm spans the projection; keep the kept heads'
		// entries (the remaining heads' RMS then changes, as it must).
		if t.Role == model.RoleQNorm {
			return src, headRows(r.heads, hd, 0), nil, nil
		}
		return src, headRows(r.kvHeads, hd, 0), nil, nil
	case model.RoleO:
		return src, nil, headRows(r.heads, hd, 0), nil
	case model.RoleGate, model.RoleUp, model.RoleGateBias, model.RoleUpBias:
		return src, r.neuron, nil, nil
	case model.RoleDown:
		return src, nil, r.neuron, nil
	}
	return src, nil, nil, nil
}

// copySlice copies rows × cols of src (a tensor shaped like s) densely
// into dst.
func copySlice[E any](dst, src []E, s model.TensorInfo, rows, cols []int) {
	if cols == nil { // whole rows
		if rows == nil {
			copy(dst, src)
			return
		}
		nc := s.Cols()
		for k, r := range rows {
			copy(dst[k*nc:(k+1)*nc], src[r*nc:(r+1)*nc])
		}
		return
	}
	k := 0
	region{t: s, rows: rows, cols: cols}.each(func(i int) {
		dst[k] = src[i]
		k++
	})
}
