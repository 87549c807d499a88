package pipeline

// compileScope type-checks every expression of a scope's stages against the
// environment it will be evaluated in.
func (l *loader) compileScope(sc *scope) {
	env := l.envFor(sc, siteStage, nil)
	for _, s := range sc.stages {
		if s.When != nil && s.When.tree != nil {
			s.When.compile(l.ps, env, true)
		}
		withEnv := withLocals(env, s)
		for _, it := range s.interps {
			if it.static || it.broken {
				continue
			}
			for _, p := range it.parts {
				if p.expr != nil && p.expr.tree != nil && p.expr.compile(l.ps, withEnv, false) {
					l.markLocal(s, p.expr)
				}
			}
		}
		switch {
		case s.loop != nil:
			if u := s.loop.until; u != nil && u.tree != nil {
				u.compile(l.ps, l.envFor(s.body, siteUntil, s), true)
			}
		case s.assert != nil && s.assert.that != nil && s.assert.that.tree != nil:
			s.assert.that.compile(l.ps, env, true)
		}
		if s.body != nil {
			l.compileScope(s.body)
		}
	}
}
