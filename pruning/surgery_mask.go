package pruning

import (
	"lopper/model"
)

// MaskPlan returns a copy of m in which everything p removes is zeroed and
// masked (mask 0) instead of cut out: the same function as Slice(m, p)
// computes, in the original shape. A dropped block has all its linear
// weights and biases zeroed, which makes it the identity (its residual
// connections pass the input through). Use it to retrain with structures
// held at zero before slicing, or to compare against the sliced model.
// Existing mask entries are kept.
func MaskPlan(m *model.Model, p Plan) (*model.Model, error) {
	keep, _, err := p.resolve(&m.Config)
	if err != nil {
		return nil, err
	}
	out := m.Clone()
	if out.Mask == nil {
		out.Mask = out.Layout.NewMask()
	}
	kept := make(map[int]resolved, len(keep))
	for _, r := range keep {
		kept[r.src] = r
	}
	c := &m.Config
	for layer, d := range c.Layers {
		r, ok := kept[layer]
		var rs []region
		if !ok {
			rs = blockRegions(m.Layout, layer)
		} else {
			if rs, err = removedRegions(m.Layout, c, layer, d, r); err != nil {
				return nil, err
			}
		}
		for _, g := range rs {
			w := g.t.Of(out.W)
			g.each(func(i int) {
				w[i] = 0
				out.Mask.Set(g.t.Offset+i, false)
			})
		}
	}
	return out, nil
}

// removedRegions are the regions of the heads and neurons of a kept layer
// that r does not keep.
func removedRegions(l *model.Layout, c *model.Config, layer int, d model.LayerDims, r resolved) ([]region, error) {
	var rs []region
	qs, ks, ns := complement(r.heads, d.Heads), complement(r.kvHeads, d.KVHeads), complement(r.neuron, d.Intermediate)
	if len(qs)+len(ks) > 0 {
		a, err := blockAttn(l, c, layer)
		if err != nil {
			return nil, err
		}
		rs = append(rs, a.headRegions(qs, ks, c.HeadDim)...)
	}
	if len(ns) > 0 {
		mt, err := blockMLP(l, layer)
		if err != nil {
			return nil, err
		}
		rs = append(rs, mt.neuronRegions(ns)...)
	}
	return rs, nil
}

// complement returns the indices of 0..n−1 not in the ascending list keep.
func complement(keep []int, n int) []int {
	var out []int
	k := 0
	for i := 0; i < n; i++ {
		if k < len(keep) && keep[k] == i {
			k++
			continue
		}
		out = append(out, i)
	}
	return out
}
