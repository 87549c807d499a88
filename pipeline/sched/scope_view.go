package sched

import (
	"lopper/pipeline"
)

// values builds the expression values for a stage of this scope: params,
// finished stages' metrics, iteration, prev and matrix.
func (sr *scopeRun) values() map[string]any {
	v := sr.view()
	metrics := make(map[string]pipeline.Metrics, len(v.Results))
	for id, res := range v.Results {
		metrics[id] = res.Metrics
	}
	return pipeline.Values(sr.m.params, sr.iteration, v.Prev, sr.matrix, metrics)
}

// inputs returns the results stage i of this scope may read: its finished
// dependencies, those of the stages enclosing it in outer scopes (a loop or
// matrix depends on every outer stage its body reads), and the innermost
// loop's prev; and which of them it may take (see lifetime.go): only its
// own scope's, never prev.
func (sr *scopeRun) inputs(i int) (map[string]*pipeline.Result, map[string]bool) {
	out := map[string]*pipeline.Result{}
	var owned map[string]bool
	prevKnown := false
	for s, idx := sr, i; s != nil; s = s.parent {
		if !prevKnown && s.iteration >= 0 && s.owner != nil && s.owner.Uses == pipeline.KindLoop {
			prevKnown = true
			if s.prev != nil {
				out[pipeline.NamePrev] = s.prev
			}
		}
		for _, d := range s.plan.deps[idx] {
			id := s.plan.stages[d].ID
			if _, taken := out[id]; taken {
				continue
			}
			res, ok := s.states[d].final()
			if !ok {
				continue
			}
			out[id] = res
			if s == sr && sr.takeable(d, i) {
				if owned == nil {
					owned = map[string]bool{}
				}
				owned[id] = true
			}
		}
		if s.parent != nil {
			idx = s.parent.plan.byID[s.owner.ID]
		}
	}
	if e := sr.m.env; e != nil {
		// A child machine: what the parent gave it stands for the scopes
		// around this one (never taken: the parent holds them).
		if !prevKnown && e.PrevKnown && e.InputPrev != nil {
			out[pipeline.NamePrev] = e.InputPrev
		}
		for id, res := range e.Results {
			if _, taken := out[id]; !taken {
				out[id] = res
			}
		}
	}
	return out, owned
}

// view is what a stage of this scope sees of the run: the finished stages
// visible from it (an inner stage hides an outer one of the same id), the
// prev its expressions read (the innermost one set) and the innermost
// loop's prev, its input; then what a child machine was given (Env).
func (sr *scopeRun) view() Env {
	v := Env{Results: map[string]*pipeline.Result{}}
	for s := sr; s != nil; s = s.parent {
		if v.Prev == nil {
			v.Prev = s.prev
		}
		if !v.PrevKnown && s.iteration >= 0 && s.owner != nil && s.owner.Uses == pipeline.KindLoop {
			v.PrevKnown, v.InputPrev = true, s.prev
		}
		for j, st := range s.plan.stages {
			if _, taken := v.Results[st.ID]; taken {
				continue
			}
			if res, ok := s.states[j].final(); ok {
				v.Results[st.ID] = res
			}
		}
	}
	if e := sr.m.env; e != nil {
		if v.Prev == nil {
			v.Prev = e.Prev
		}
		if !v.PrevKnown && e.PrevKnown {
			v.PrevKnown, v.InputPrev = true, e.InputPrev
		}
		for id, res := range e.Results {
			if _, taken := v.Results[id]; !taken {
				v.Results[id] = res
			}
		}
	}
	return v
}

// lookup returns the result of a finished stage visible from this scope.
func (sr *scopeRun) lookup(id string) (*pipeline.Result, bool) {
	for s := sr; s != nil; s = s.parent {
		if j, ok := s.plan.byID[id]; ok {
			return s.states[j].final()
		}
	}
	if e := sr.m.env; e != nil {
		res, ok := e.Results[id]
		return res, ok
	}
	return nil, false
}
