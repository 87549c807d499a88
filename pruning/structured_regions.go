package pruning

import (
	"fmt"
	"math"

	"lopper/model"
)

// A structure owns regions of tensors: rows and columns of linear weights
// (canonical [out, in]) and entries of biases. Scores, masks and surgery
// all work from the same description.

// region is rows × cols of a 2-D tensor, or entries rows of a vector; nil
// rows or cols mean all of them.
type region struct {
	t          model.TensorInfo
	rows, cols []int
}

// each calls fn with every flat index (within the tensor) of the region.
func (r region) each(fn func(i int)) {
	nc := r.t.Cols() // 1 for a vector
	rowAt := func(k int) int {
		if r.rows == nil {
			return k
		}
		return r.rows[k]
	}
	nr := r.t.Rows()
	if r.rows != nil {
		nr = len(r.rows)
	}
	for k := 0; k < nr; k++ {
		base := rowAt(k) * nc
		if r.cols == nil {
			for j := 0; j < nc; j++ {
				fn(base + j)
			}
			continue
		}
		for _, j := range r.cols {
			fn(base + j)
		}
	}
}

// regionsNorm returns the L1 (p = 1) or L2 (p = 2) norm of w over rs, in
// float64.
func regionsNorm(w []float32, rs []region, p int) float64 {
	var s float64
	for _, r := range rs {
		x := r.t.Of(w)
		r.each(func(i int) {
			v := float64(x[i])
			if p == 1 {
				s += math.Abs(v)
			} else {
				s += v * v
			}
		})
	}
	if p == 2 {
		return math.Sqrt(s)
	}
	return s
}

// regionsTaylor returns Σ |w·g| over rs.
func regionsTaylor(w, g []float32, rs []region) float64 {
	var s float64
	for _, r := range rs {
		x, d := r.t.Of(w), r.t.Of(g)
		r.each(func(i int) { s += math.Abs(float64(x[i]) * float64(d[i])) })
	}
	return s
}

// span returns hd consecutive indices per head, offset by off:
// off + h·hd + (0..hd−1) for each h in heads.
func headRows(heads []int, hd, off int) []int {
	out := make([]int, 0, len(heads)*hd)
	for _, h := range heads {
		for k := 0; k < hd; k++ {
			out = append(out, off+h*hd+k)
		}
	}
	return out
}

// attnPart locates q, k or v rows: in their own tensor (Llama) or at an
// offset in the fused c_attn (GPT-2), with the matching bias if present.
type attnPart struct {
	w, b model.TensorInfo
	hasB bool
	off  int
}

// attnTensors are one block's attention tensors.
type attnTensors struct {
	q, k, v attnPart
	o, ob   model.TensorInfo
	hasOB   bool
}

// blockAttn resolves block layer's attention tensors in layout l of a
// model with config c.
func blockAttn(l *model.Layout, c *model.Config, layer int) (attnTensors, error) {
	var a attnTensors
	d, hd := c.Layers[layer], c.HeadDim
	need := func(r model.Role) (model.TensorInfo, error) {
		t, ok := l.Find(layer, r)
		if !ok {
			return t, fmt.Errorf("layer %d: no %s tensor in the layout", layer, r)
		}
		return t, nil
	}
	var err error
	if a.o, err = need(model.RoleO); err != nil {
		return a, err
	}
	a.ob, a.hasOB = l.Find(layer, model.RoleOBias)
	if c.Arch == model.GPT2 {
		w, err := need(model.RoleQKV)
		if err != nil {
			return a, err
		}
		b, hasB := l.Find(layer, model.RoleQKVBias)
		a.q = attnPart{w: w, b: b, hasB: hasB, off: 0}
		a.k = attnPart{w: w, b: b, hasB: hasB, off: d.Heads * hd}
		a.v = attnPart{w: w, b: b, hasB: hasB, off: (d.Heads + d.KVHeads) * hd}
		return a, nil
	}
	parts := []struct {
		p    *attnPart
		w, b model.Role
	}{{&a.q, model.RoleQ, model.RoleQBias}, {&a.k, model.RoleK, model.RoleKBias}, {&a.v, model.RoleV, model.RoleVBias}}
	for _, p := range parts {
		if p.p.w, err = need(p.w); err != nil {
			return a, err
		}
		p.p.b, p.p.hasB = l.Find(layer, p.b)
	}
	return a, nil
}

// rowsOf returns the regions of the part's rows for the given heads.
func (p attnPart) rowsOf(heads []int, hd int) []region {
	rows := headRows(heads, hd, p.off)
	rs := []region{{t: p.w, rows: rows}}
	if p.hasB {
		rs = append(rs, region{t: p.b, rows: rows})
	}
	return rs
}

// headRegions are the parameters owned by query heads qs and kv heads ks
// of a block: their q (and k, v) rows with biases, and the o columns of
// the query heads. The o bias belongs to no head.
func (a attnTensors) headRegions(qs, ks []int, hd int) []region {
	rs := a.q.rowsOf(qs, hd)
	if len(ks) > 0 {
		rs = append(rs, a.k.rowsOf(ks, hd)...)
		rs = append(rs, a.v.rowsOf(ks, hd)...)
	}
	return append(rs, region{t: a.o, cols: headRows(qs, hd, 0)})
}

// mlpTensors are one block's MLP tensors: the input-side projections
// (Llama gate and up, GPT-2 c_fc) with their biases, and the output
// projection (down_proj, mlp.c_proj).
type mlpTensors struct {
	in, inBias []model.TensorInfo
	down       model.TensorInfo
}

func blockMLP(l *model.Layout, layer int) (mlpTensors, error) {
	var m mlpTensors
	for _, r := range []model.Role{model.RoleGate, model.RoleUp} {
		if t, ok := l.Find(layer, r); ok {
			m.in = append(m.in, t)
		}
	}
	for _, r := range []model.Role{model.RoleGateBias, model.RoleUpBias} {
		if t, ok := l.Find(layer, r); ok {
			m.inBias = append(m.inBias, t)
		}
	}
	var ok bool
	if m.down, ok = l.Find(layer, model.RoleDown); !ok || len(m.in) == 0 {
		return m, fmt.Errorf("layer %d: the layout lacks the MLP projections", layer)
	}
	return m, nil
}

// neuronRegions are the parameters owned by MLP neurons js.
func (m mlpTensors) neuronRegions(js []int) []region {
	var rs []region
	for _, t := range m.in {
		rs = append(rs, region{t: t, rows: js})
	}
	for _, t := range m.inBias {
		rs = append(rs, region{t: t, rows: js})
	}
	return append(rs, region{t: m.down, cols: js})
}

// blockRegions are all the linear weights and biases of a block: what
// dropping the block removes besides its norms.
func blockRegions(l *model.Layout, layer int) []region {
	var rs []region
	for _, t := range l.Tensors {
		if t.Layer == layer && (t.Role.IsLinear() || isBias(t.Role)) {
			rs = append(rs, region{t: t})
		}
	}
	return rs
}

func isBias(r model.Role) bool {
	switch r {
	case model.RoleQBias, model.RoleKBias, model.RoleVBias, model.RoleQKVBias, model.RoleOBias,
		model.RoleGateBias, model.RoleUpBias, model.RoleDownBias:
		return true
	}
	return false
}
