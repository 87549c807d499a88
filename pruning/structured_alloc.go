package pruning

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"lopper/model"
)

// Allocation turns per-layer scores into a Plan. Within a layer the units
// are removed lowest score first; how many per layer is the scope's
// choice. A unit is a neuron, a kv group (HeadsKVGroups), or one query-head
// slot (HeadsQuery: slot r removes the r-th lowest-scored query head of
// every group, its score the sum over groups of those heads' scores, so
// slot scores never decrease with r).

// units are one layer's removal units in removal order.
type units struct {
	scores []float64 // per unit
	order  []int     // unit indices by ascending score, ties by index
}

func newUnits(scores []float64) units {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	return units{scores: scores, order: order}
}

// slotUnits builds the query-head slots of a layer from per-head scores.
func slotUnits(headScores []float64, d model.LayerDims) (units, [][]int) {
	rep := d.Heads / d.KVHeads
	byGroup := make([][]int, d.KVHeads) // each group's heads by ascending score
	slot := make([]float64, rep)
	for g := range byGroup {
		hs := make([]int, rep)
		for k := range hs {
			hs[k] = g*rep + k
		}
		slices.SortStableFunc(hs, func(a, b int) int { return cmp.Compare(headScores[a], headScores[b]) })
		byGroup[g] = hs
		for r, h := range hs {
			slot[r] += headScores[h]
		}
	}
	u := units{scores: slot, order: make([]int, rep)}
	for r := range u.order {
		u.order[r] = r
	}
	return u, byGroup
}

// planWithinLayers allocates neuron or head removals and builds the plan.
func planWithinLayers(c *model.Config, scores [][]float64, o StructuredOptions, rep *StructuredReport) (Plan, error) {
	L := c.NumLayers()
	us := make([]units, L)
	groups := make([][][]int, L)
	for l := range us {
		if o.Structure == StructHeads && o.HeadMode == HeadsQuery {
			us[l], groups[l] = slotUnits(scores[l], c.Layers[l])
		} else {
			us[l] = newUnits(scores[l])
		}
	}
	counts, err := allocate(us, o, rep)
	if err != nil {
		return Plan{}, err
	}
	p := KeepAll(c)
	for l, k := range counts {
		removed := slices.Clone(us[l].order[:k])
		slices.Sort(removed)
		d, lp := c.Layers[l], &p.Layers[l]
		switch {
		case o.Structure == StructNeurons:
			lp.Neurons = complement(removed, d.Intermediate)
		case o.HeadMode == HeadsKVGroups:
			lp.KVHeads = complement(removed, d.KVHeads)
			grp := d.Heads / d.KVHeads
			for _, g := range lp.KVHeads {
				for h := g * grp; h < (g+1)*grp; h++ {
					lp.Heads = append(lp.Heads, h)
				}
			}
		default: // HeadsQuery: drop the k lowest heads of every group
			var gone []int
			for _, hs := range groups[l] {
				gone = append(gone, hs[:k]...)
			}
			slices.Sort(gone)
			lp.Heads = complement(gone, d.Heads)
		}
	}
	return p, nil
}

// unitName names o's units in messages.
func unitName(o StructuredOptions) string {
	switch {
	case o.Structure == StructNeurons:
		return "MLP neurons"
	case o.HeadMode == HeadsKVGroups:
		return "kv groups (a kv head with its query heads)"
	}
	return "query-head slots (one query head from every kv group)"
}

// allocate returns how many units each layer loses.
func allocate(us []units, o StructuredOptions, rep *StructuredReport) ([]int, error) {
	counts := make([]int, len(us))
	total, capacity := 0, 0
	for l, u := range us {
		n := len(u.scores)
		if o.Scope == AllocPerLayer {
			counts[l] = removeCount(o, n)
			if counts[l] >= n {
				return nil, fmt.Errorf("layer %d: removing %d of its %d %s would leave none; at most %d can go", l, counts[l], n, unitName(o), n-1)
			}
			total += counts[l]
		}
		capacity += n - 1
	}
	if o.Scope == AllocGlobal {
		want := 0
		if o.Count > 0 {
			want = o.Count * len(us)
		} else {
			n := 0
			for _, u := range us {
				n += len(u.scores)
			}
			want = int(math.Round(o.Ratio * float64(n)))
		}
		if want > capacity {
			return nil, fmt.Errorf("removing %d %s would leave a layer with none; at most %d can go (one stays in every layer)", want, unitName(o), capacity)
		}
		counts = globalCounts(us, want)
		total = want
	}
	if total == 0 {
		return nil, fmt.Errorf("the ratio rounds to removing no %s", unitName(o))
	}
	return uniformize(us, counts, o, rep)
}

// globalCounts ranks every layer's units (but the best of each) by score
// divided by the layer's mean score, and takes the want lowest.
func globalCounts(us []units, want int) []int {
	type cand struct {
		s           float64
		layer, rank int
	}
	var all []cand
	for l, u := range us {
		mean := 0.0
		for _, s := range u.scores {
			mean += s
		}
		mean /= float64(len(u.scores))
		if !(mean > 0) {
			mean = 1
		}
		for r, i := range u.order[:len(u.order)-1] {
			all = append(all, cand{u.scores[i] / mean, l, r})
		}
	}
	slices.SortStableFunc(all, func(a, b cand) int { return cmp.Compare(a.s, b.s) })
	counts := make([]int, len(us))
	for _, c := range all[:want] {
		counts[c.layer]++
	}
	return counts
}

// uniformize applies the non-uniform policy when the layers would keep
// different numbers of units.
func uniformize(us []units, counts []int, o StructuredOptions, rep *StructuredReport) ([]int, error) {
	kept, minN, sum := make([]int, len(us)), math.MaxInt, 0
	for l, u := range us {
		kept[l] = len(u.scores) - counts[l]
		minN = min(minN, len(u.scores))
		sum += kept[l]
	}
	if !slices.ContainsFunc(kept, func(k int) bool { return k != kept[0] }) {
		return counts, nil
	}
	if o.Scope == AllocPerLayer || o.NonUniform == NonUniformKeep {
		return counts, nil // per-layer counts differ only when the input's layers already do
	}
	if o.NonUniform == NonUniformRefuse {
		return nil, fmt.Errorf("global allocation would remove %v %s per layer, leaving layers of different sizes that Hugging Face cannot load; use the round or keep policy, or the layer scope", counts, unitName(o))
	}
	keep := int(math.Round(float64(sum) / float64(len(us))))
	keep = max(1, min(keep, minN))
	rep.Rounded, rep.GlobalCounts = true, slices.Clone(counts)
	out := make([]int, len(us))
	for l, u := range us {
		out[l] = len(u.scores) - keep
	}
	return out, nil
}

// removals lists what p removes from a model with config c.
func (p Plan) removals(c *model.Config) []LayerRemoval {
	var out []LayerRemoval
	for l, lp := range p.Layers {
		d := c.Layers[l]
		r := LayerRemoval{Layer: l, Dropped: lp.Drop}
		if !lp.Drop {
			if lp.Neurons != nil {
				r.Neurons = complement(lp.Neurons, d.Intermediate)
			}
			if lp.Heads != nil {
				r.Heads = complement(lp.Heads, d.Heads)
			}
			if lp.KVHeads != nil && c.Arch != model.GPT2 {
				r.KVHeads = complement(lp.KVHeads, d.KVHeads)
			}
		}
		out = append(out, r)
	}
	return out
}
