package model

import "fmt"

// span is a range of a flat buffer over the layout; n == 0 means absent.
type span struct{ off, n int }

func (s span) of(buf []float32) []float32 {
	if s.n == 0 {
		return nil
	}
	return buf[s.off : s.off+s.n]
}

// blockRefs locate one block's parameters. Llama's q, k, v weights (and
// biases) are adjacent in the layout and run as one fused qkv projection,
// as are gate and up; GPT-2's c_attn is fused on disk already.
type blockRefs struct {
	d                                LayerDims
	norm1, norm1b, qkv, qkvb, o, ob  span
	qn, kn                           span // Qwen3 per-head q/k norms
	postAttn, postMLP                span // Gemma 2/3 post-norms
	norm2, norm2b, fc, fcb, down, dn span
	// Names of the weights reading each linear input, for LinearHook.
	attnIn, oIn, mlpIn, downIn []string
}

type globalRefs struct {
	embed, pos, norm, normb, head span
}

// buildRefs resolves every block's parameters by role.
func buildRefs(l *Layout, c *Config) ([]blockRefs, globalRefs, error) {
	b := &refBuilder{l: l}
	g := globalRefs{
		embed: b.span(-1, RoleEmbed),
		pos:   b.span(-1, RolePosEmbed),
		norm:  b.span(-1, RoleFinalNorm),
		normb: b.span(-1, RoleFinalNormBias),
		head:  b.span(-1, RoleHead),
	}
	if g.head.n == 0 {
		g.head = g.embed
	}
	refs := make([]blockRefs, len(c.Layers))
	for i, d := range c.Layers {
		r := &refs[i]
		r.d = d
		r.norm1, r.norm1b = b.span(i, RoleAttnNorm), b.span(i, RoleAttnNormBias)
		r.norm2, r.norm2b = b.span(i, RoleMLPNorm), b.span(i, RoleMLPNormBias)
		r.postAttn, r.postMLP = b.span(i, RolePostAttnNorm), b.span(i, RolePostMLPNorm)
		r.o, r.oIn = b.named(i, RoleO)
		r.ob = b.span(i, RoleOBias)
		r.down, r.downIn = b.named(i, RoleDown)
		r.dn = b.span(i, RoleDownBias)
		if c.Arch == GPT2 {
			r.qkv, r.attnIn = b.named(i, RoleQKV)
			r.qkvb = b.span(i, RoleQKVBias)
			r.fc, r.mlpIn = b.named(i, RoleUp)
			r.fcb = b.span(i, RoleUpBias)
		} else {
			r.qkv, r.attnIn = b.named(i, RoleQ, RoleK, RoleV)
			r.qkvb = b.span(i, RoleQBias, RoleKBias, RoleVBias)
			r.qn, r.kn = b.span(i, RoleQNorm), b.span(i, RoleKNorm)
			r.fc, r.mlpIn = b.named(i, RoleGate, RoleUp)
			r.fcb = b.span(i, RoleGateBias, RoleUpBias)
		}
	}
	return refs, g, b.err
}

// refBuilder resolves spans, keeping the first error.
type refBuilder struct {
	l   *Layout
	err error
}

func (b *refBuilder) span(layer int, roles ...Role) span {
	sp, _ := b.named(layer, roles...)
	return sp
}

func (b *refBuilder) named(layer int, roles ...Role) (span, []string) {
	sp, names, err := join(b.l, layer, roles)
	if err != nil && b.err == nil {
		b.err = err
	}
	return sp, names
}

// join returns the span covering the tensors with the given roles, which
// must be adjacent in the layout in that order; absent tensors give an
// empty span (all must be absent then).
func join(l *Layout, layer int, roles []Role) (span, []string, error) {
	var sp span
	var names []string
	for k, r := range roles {
		t, ok := l.Find(layer, r)
		if !ok {
			if k > 0 && sp.n > 0 {
				return span{}, nil, fmt.Errorf("layer %d: %s present without %s", layer, roles[0], r)
			}
			continue
		}
		if k == 0 {
			sp.off = t.Offset
		} else if sp.off+sp.n != t.Offset {
			return span{}, nil, fmt.Errorf("layer %d: %s is not adjacent to %s in the layout", layer, r, roles[k-1])
		}
		sp.n += t.Size
		names = append(names, t.Name)
	}
	return sp, names, nil
}
