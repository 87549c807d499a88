package pipeline

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// decodeControl decodes the with block of an engine-level kind (loop,
// matrix, assert) into cfg. These blocks are read when the graph is built,
// so their interpolations may only read params. skip lists keys holding
// expressions, which are not interpolated. It returns the instantiated block.
func (l *loader) decodeControl(s *Stage, cfg any, skip ...string) (*yaml.Node, bool) {
	its := l.prepareInterps(s, skip...)
	ok := true
	for _, it := range its {
		for _, p := range it.parts {
			if p.expr != nil && !it.broken && (!it.static || slices.Contains(p.expr.idents, idMatrix)) {
				l.ps.add(p.expr.Pos(), fmt.Sprintf("stage %s: %s: a %s's with can only interpolate params (it is read when the graph is built)", s.ID, fieldLabel(it.path), s.Uses))
				ok = false
			}
		}
	}
	if !ok {
		return nil, false
	}
	values := map[string]any{idParams: l.r.paramValues()}
	inst, _, err := instantiate(s.With, its, staticEval(values))
	if err != nil {
		l.ps.addErr(s.Pos, err)
		return nil, false
	}
	if cfg == nil {
		return inst, true
	}
	probs := decodeStrict(l.r.File, inst, cfg)
	for _, p := range probs {
		l.ps.add(p.Pos, fmt.Sprintf("stage %s: %s", s.ID, p.Msg))
	}
	return inst, len(probs) == 0
}

// controlExpr makes the expression written at key of a control block.
func (l *loader) controlExpr(s *Stage, inst *yaml.Node, key, src string) *Expr {
	n, _, found := lookupPath(inst, key)
	if !found || n == nil {
		return nil
	}
	e := &Expr{Source: src, node: n, file: l.r.File, lines: l.ps.lines, what: fmt.Sprintf("stage %s: %s", s.ID, key)}
	if !e.parse(l.ps) {
		return nil
	}
	return e
}

// fieldPos returns the position of key in a control block, or the best
// position for a missing key.
func (l *loader) fieldPos(s *Stage, inst *yaml.Node, key string) Pos {
	if inst == nil {
		return s.Pos
	}
	n, k, found := lookupPath(inst, key)
	switch {
	case found:
		return l.pos(n)
	case k != nil:
		return l.pos(k)
	}
	return s.withPos
}
