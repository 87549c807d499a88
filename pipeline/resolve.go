package pipeline

import (
	"fmt"
	"slices"
)

// resolveScope turns every reference of a scope's stages into dependencies:
// explicit needs, the inputs their kinds declare, and the stages their
// expressions read.
func (l *loader) resolveScope(sc *scope) {
	for _, s := range sc.stages {
		for _, r := range s.Needs {
			if r.ID == idPrev {
				l.refError(r, "stage %s: needs: prev is not a stage; it is provided by the loop", s.ID)
				continue
			}
			l.depend(s, r, "needs")
		}
		for _, in := range s.decl.Inputs {
			l.resolveInput(s, in)
		}
		if s.When != nil && s.When.parse(l.ps) {
			l.dependOnIdents(s, s.When)
		}
		for _, it := range s.interps {
			for _, p := range it.parts {
				if p.expr != nil && !it.static && !it.broken {
					l.dependOnNames(s, p.expr, dropLocals(s, p.expr.idents))
				}
			}
		}
		switch {
		case s.loop != nil:
			l.resolveLoop(s)
		case s.assert != nil && s.assert.that != nil:
			l.dependOnIdents(s, s.assert.that)
		}
		if s.body != nil {
			l.resolveScope(s.body)
		}
	}
}

// resolveInput resolves one declared input of s.
func (l *loader) resolveInput(s *Stage, in Input) {
	r := in.Ref
	if r.ID == "" {
		if r.Line != 0 { // written as "": unset optional refs are zero Refs
			l.refError(r, "stage %s: missing stage id", s.ID)
		}
		return
	}
	if r.ID == idPrev {
		l.resolvePrev(s, in)
		return
	}
	t := l.depend(s, r, "reads "+r.ID)
	if t == nil || in.Artifact == "" || t.broken {
		return
	}
	if !slices.Contains(t.decl.Artifacts, in.Artifact) {
		l.refError(r, "stage %s: %s produces no %q artifact%s", s.ID, t.label(), in.Artifact, producesList(t))
	}
}

func producesList(t *Stage) string {
	if len(t.decl.Artifacts) == 0 {
		return " (it produces no artifacts)"
	}
	return fmt.Sprintf(" (it produces %s)", oneOf(t.decl.Artifacts))
}

// resolvePrev checks a `prev` input against the innermost loop.
func (l *loader) resolvePrev(s *Stage, in Input) {
	lp := enclosingLoop(s.scope)
	switch {
	case lp == nil:
		l.refError(in.Ref, "stage %s: prev is only defined inside a loop's stages", s.ID)
		return
	case lp.loop.fromStage == nil:
		l.refError(in.Ref, "stage %s: prev needs the loop %s to set `from` (what iteration 0 starts from)", s.ID, lp.ID)
		return
	case lp.loop.carryStage == nil || in.Artifact == "" || lp.loop.carryStage.broken || lp.loop.fromStage.broken:
		return
	}
	for _, src := range []*Stage{lp.loop.carryStage, lp.loop.fromStage} {
		if !slices.Contains(src.decl.Artifacts, in.Artifact) {
			l.refError(in.Ref, "stage %s: prev is %s's result (or %s's in iteration 0), and %s produces no %q artifact%s",
				s.ID, lp.loop.carryStage.ID, lp.loop.fromStage.ID, src.label(), in.Artifact, producesList(src))
		}
	}
}

// dependOnIdents makes s depend on every stage an expression reads.
func (l *loader) dependOnIdents(s *Stage, e *Expr) { l.dependOnNames(s, e, e.idents) }

// dependOnNames makes s depend on every stage among the names e reads.
func (l *loader) dependOnNames(s *Stage, e *Expr, names []string) {
	for _, id := range names {
		if l.visible(s.scope, id) != nil {
			pos := e.Pos()
			l.depend(s, Ref{ID: id, Line: pos.Line, Col: pos.Col}, "reads "+id)
		}
	}
}

// visible finds a stage id in scope sc or its parents.
func (l *loader) visible(sc *scope, id string) *Stage {
	for ; sc != nil; sc = sc.parent {
		if t, ok := sc.byID[id]; ok {
			return t
		}
	}
	return nil
}

// depend resolves r from stage s and records the dependency; it returns the
// referenced stage, or nil after reporting why it cannot be used.
func (l *loader) depend(s *Stage, r Ref, why string) *Stage {
	t := l.visible(s.scope, r.ID)
	if t == nil {
		if other, ok := l.r.byID[r.ID]; ok {
			l.refError(r, "stage %s: stage %s is inside %s and cannot be read from here; read %s (its result) instead", s.ID, r.ID, other.Parent.ID, outermostOutside(other, s).ID)
			return nil
		}
		var cands []string
		for sc := s.scope; sc != nil; sc = sc.parent {
			cands = append(cands, ids(sc.stages)...)
		}
		l.refError(r, "stage %s: unknown stage %q%s", s.ID, r.ID, didYouMean(r.ID, cands))
		return nil
	}
	// rep is s, or the stage around s that lives in t's scope.
	rep := s
	for rep.scope != t.scope {
		rep = rep.Parent
	}
	if rep == t && t != s {
		l.refError(r, "stage %s: cannot read %s: %s is inside it (%s's result exists only after its stages finish)", s.ID, t.ID, s.ID, t.ID)
		return nil
	}
	if !slices.Contains(rep.deps, t) {
		rep.deps = append(rep.deps, t)
		if rep.why == nil {
			rep.why = map[*Stage]string{}
		}
		rep.why[t] = why
	}
	return t
}

// outermostOutside returns the stage around inner that s can read: the
// innermost enclosing loop or matrix of inner that lives in s's scope or an
// enclosing one.
func outermostOutside(inner, s *Stage) *Stage {
	for t := inner.Parent; t != nil; t = t.Parent {
		for sc := s.scope; sc != nil; sc = sc.parent {
			if t.scope == sc {
				return t
			}
		}
	}
	return inner
}
