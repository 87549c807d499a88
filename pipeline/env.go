package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/types"
)

// exprEnv is the typed environment of one expression site: what names are
// in scope, their types, and for map-valued names (params, stages, matrix,
// prev) the known keys, so that typos get a did-you-mean.
type exprEnv struct {
	entries map[string]envEntry
	missing map[string]string // names out of scope here → why
}

type envEntry struct {
	typ    types.Type
	fields []string // known keys of a map entry
	what   string   // "stage baseline", "params", …
	hint   string   // appended to unknown-field messages
	noun   string   // what a key is called ("input"); "" for metric, param, axis
}

func newEnv() *exprEnv {
	return &exprEnv{entries: map[string]envEntry{}, missing: map[string]string{}}
}

func (e *exprEnv) types() types.Map {
	m := make(types.Map, len(e.entries))
	for k, v := range e.entries {
		m[k] = v.typ
	}
	return m
}

func (e *exprEnv) addMap(name, what string, fields map[string]types.Type, hint string) {
	names := make([]string, 0, len(fields))
	m := make(types.Map, len(fields))
	for k, t := range fields {
		names = append(names, k)
		m[k] = t
	}
	slices.Sort(names)
	e.entries[name] = envEntry{typ: m, fields: names, what: what, hint: hint}
}

func floatFields(names []string) map[string]types.Type {
	m := make(map[string]types.Type, len(names))
	for _, n := range names {
		m[n] = types.Float64
	}
	return m
}

func (e *exprEnv) names() []string {
	out := make([]string, 0, len(e.entries))
	for k := range e.entries {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (e *exprEnv) unknownName(name string) string {
	if why, ok := e.missing[name]; ok {
		return why
	}
	return fmt.Sprintf("unknown name %q%s", name, didYouMean(name, e.names()))
}

func (e *exprEnv) unknownField(recv, field string) string {
	ent, ok := e.entries[recv]
	if !ok {
		return fmt.Sprintf("unknown field %q", field)
	}
	what := "metric"
	switch recv {
	case idParams:
		what = "param"
	case idMatrix:
		what = "axis"
	}
	if ent.noun != "" {
		what = ent.noun
	}
	msg := fmt.Sprintf("%s has no %s %q%s", ent.what, what, field, didYouMean(field, ent.fields))
	if len(ent.fields) == 0 {
		msg += fmt.Sprintf("; it has no %ss", what)
	} else {
		msg += fmt.Sprintf("; it has %s", strings.Join(ent.fields, ", "))
	}
	if ent.hint != "" && (field == idAccDrop || field == idPplRatio) {
		msg += "; " + ent.hint
	}
	return msg
}

func paramTypeOf(t ParamType) types.Type {
	switch t {
	case ParamInt:
		return types.Int
	case ParamFloat:
		return types.Float64
	case ParamBool:
		return types.Bool
	}
	return types.String
}

// envSite says which extra names an expression site sees.
type envSite int

const (
	siteStage  envSite = iota // a stage's when and interpolations
	siteUntil                 // a loop's until (in its body scope)
	siteStatic                // load-time values: params and matrix only
)

// envFor builds the environment of an expression evaluated in scope sc.
// For siteUntil, loop is the loop stage (sc is its body).
func (l *loader) envFor(sc *scope, site envSite, loop *Stage) *exprEnv {
	e := newEnv()
	pt := map[string]types.Type{}
	for _, p := range l.r.Params {
		pt[p.Name] = paramTypeOf(p.Type)
	}
	e.addMap(idParams, "params", pt, "")
	if axes := matrixAxes(sc); len(axes) > 0 {
		e.addMap(idMatrix, "matrix", axes, "")
	} else {
		e.missing[idMatrix] = "matrix is only defined inside a matrix's stages"
	}
	if site == siteStatic {
		return e
	}
	hint := l.derivedHint()
	for s := sc; s != nil; s = s.parent {
		for _, t := range s.stages {
			if _, taken := e.entries[t.ID]; taken {
				continue
			}
			if t.broken { // its metrics are unknown: any name reads as a float
				e.entries[t.ID] = envEntry{typ: types.Map{types.Extra: types.Float64}, what: "stage " + t.ID}
				continue
			}
			e.addMap(t.ID, "stage "+t.ID, floatFields(t.metricNames()), hint)
		}
	}
	e.missing[idIteration] = "iteration is only defined inside a loop's stages"
	e.missing[idPrev] = "prev is only defined inside a loop whose with sets `from`"
	if lp := enclosingLoop(sc); lp != nil {
		e.entries[idIteration] = envEntry{typ: types.Int, what: "iteration"}
		if lp.loop.fromStage != nil && lp.loop.carryStage != nil && (lp.loop.fromStage.broken || lp.loop.carryStage.broken) {
			e.entries[idPrev] = envEntry{typ: types.Map{types.Extra: types.Float64}, what: "prev"}
		} else if lp.loop.fromStage != nil && lp.loop.carryStage != nil {
			e.addMap(idPrev, "prev (the previous iteration's "+lp.loop.carry.ID+", or "+lp.loop.from.ID+" in iteration 0)",
				floatFields(lp.loop.prevMetrics()), "")
		}
	}
	why := "acc_drop and ppl_ratio are only defined in a loop's until; elsewhere read STAGE.acc_drop of a stage downstream of the baseline"
	e.missing[idAccDrop], e.missing[idPplRatio] = why, why
	if site == siteUntil {
		for _, name := range []string{idAccDrop, idPplRatio} {
			if reason := loop.loop.helperMissing(l, name); reason != "" {
				e.missing[name] = reason
			} else {
				e.entries[name] = envEntry{typ: types.Float64, what: name}
			}
		}
	}
	return e
}

func (l *loader) derivedHint() string {
	if l.r.Baseline == "" {
		return "acc_drop and ppl_ratio need a top-level `baseline: STAGE`"
	}
	return fmt.Sprintf("acc_drop and ppl_ratio are derived only for stages downstream of the baseline stage %s that produce accuracy / perplexity", l.r.Baseline)
}

// enclosingLoop returns the innermost loop around scope sc, or nil.
func enclosingLoop(sc *scope) *Stage {
	for s := sc; s != nil; s = s.parent {
		if s.owner != nil && s.owner.Uses == KindLoop && s.owner.loop != nil {
			return s.owner
		}
	}
	return nil
}

// matrixAxes returns the types of every matrix axis around scope sc.
func matrixAxes(sc *scope) map[string]types.Type {
	out := map[string]types.Type{}
	for s := sc; s != nil; s = s.parent {
		if s.owner != nil && s.owner.Uses == KindMatrix && s.owner.matrix != nil {
			for _, ax := range s.owner.matrix.axes {
				if _, inner := out[ax.name]; !inner {
					out[ax.name] = ax.typ
				}
			}
		}
	}
	return out
}
