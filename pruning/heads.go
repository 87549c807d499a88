package pruning

import "lopper/model"

// headUnits describes the attention heads of block layer as scoring units.
// HeadsKVGroups: unit g is kv head g with its query heads g·rep … (g+1)·rep−1,
// owning their q rows, the kv head's k and v rows (with bias entries) and
// the query heads' o_proj columns. HeadsQuery: unit h is query head h,
// owning its q rows and o_proj columns (k and v are shared with the other
// heads of its group). GPT-2's rows are those of the fused c_attn. The
// activation of a head is its attention output, the input of its o_proj
// columns.
func headUnits(l *model.Layout, c *model.Config, layer int, mode HeadMode) ([]unitDesc, model.TensorInfo, error) {
	a, err := blockAttn(l, c, layer)
	if err != nil {
		return nil, model.TensorInfo{}, err
	}
	d, hd := c.Layers[layer], c.HeadDim
	if mode == HeadsQuery {
		us := make([]unitDesc, d.Heads)
		for h := range us {
			qs := []int{h}
			us[h] = unitDesc{regions: a.headRegions(qs, nil, hd), outCols: headRows(qs, hd, 0)}
		}
		return us, a.o, nil
	}
	rep := d.Heads / d.KVHeads
	us := make([]unitDesc, d.KVHeads)
	for g := range us {
		qs := make([]int, rep)
		for k := range qs {
			qs[k] = g*rep + k
		}
		us[g] = unitDesc{regions: a.headRegions(qs, []int{g}, hd), outCols: headRows(qs, hd, 0)}
	}
	return us, a.o, nil
}

// multiHead reports whether every layer of c has as many kv heads as
// query heads, where HeadsQuery and HeadsKVGroups remove the same single heads.
func multiHead(c *model.Config) bool {
	for _, d := range c.Layers {
		if d.Heads != d.KVHeads {
			return false
		}
	}
	return true
}
