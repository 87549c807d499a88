package pipeline

import (
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// analyze runs the load-time checks after parsing: configs, references and
// dependencies, cycles, derived metrics, expressions.
func (l *loader) analyze() {
	if l.baselineRef.ID != "" {
		l.resolveBaseline()
	}
	l.configureScope(l.r.top)
	l.checkOutputs()
	l.resolveScope(l.r.top)
	if !l.checkCycles(l.r.top) {
		return // expressions and derived metrics need a DAG
	}
	l.markDerived()
	l.compileScope(l.r.top)
}

func (l *loader) resolveBaseline() {
	ref := l.baselineRef
	if s, ok := l.r.top.byID[ref.ID]; ok {
		l.r.Baseline, l.r.top.baseline = s.ID, s
		return
	}
	if s, ok := l.r.byID[ref.ID]; ok {
		l.refError(ref, "baseline: stage %s is inside %s; the baseline must be a top-level stage", ref.ID, s.Parent.ID)
		return
	}
	l.refError(ref, "baseline: unknown stage %q%s", ref.ID, didYouMean(ref.ID, ids(l.r.top.stages)))
}

func ids(stages []*Stage) []string {
	out := make([]string, len(stages))
	for i, s := range stages {
		out[i] = s.ID
	}
	return out
}

// configureScope decodes and checks every stage config of a scope.
func (l *loader) configureScope(sc *scope) {
	for _, s := range sc.stages {
		switch s.Uses {
		case KindLoop:
			l.configureLoop(s)
		case KindMatrix:
			l.configureMatrix(s)
		case KindAssert:
			l.configureAssert(s)
		default:
			l.configureStage(s)
		}
	}
}

// staticInstance is one set of load-time values: the params plus, inside
// matrices, one branch's matrix values.
type staticInstance struct {
	label  string // "" or "matrix sparsity=0.5, method=wanda"
	values map[string]any
}

// staticInstances returns the load-time values of scope sc: one instance,
// or one per branch of the enclosing matrices.
func (l *loader) staticInstances(sc *scope) []staticInstance {
	insts := []staticInstance{{values: map[string]any{idParams: l.r.paramValues()}}}
	for s := sc; s != nil; s = s.parent {
		if s.owner == nil || s.owner.matrix == nil || len(s.owner.matrix.axes) == 0 {
			continue // no matrix, or one whose axes all had problems
		}
		var next []staticInstance
		for _, in := range insts {
			for _, b := range s.owner.matrix.branches() {
				vals := map[string]any{idParams: in.values[idParams]}
				m := map[string]any{}
				if prev, ok := in.values[idMatrix].(map[string]any); ok {
					for k, v := range prev {
						m[k] = v
					}
				}
				for k, v := range b.values {
					if _, inner := m[k]; !inner {
						m[k] = v
					}
				}
				vals[idMatrix] = m
				next = append(next, staticInstance{label: joinLabel(in.label, b.label), values: vals})
			}
		}
		insts = next
	}
	return insts
}

func joinLabel(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

// prepareInterps finds and parses a stage's interpolations and compiles the
// ones that only read load-time values. An interpolation with a problem
// (reported) is kept as broken: it stands as a run-time placeholder, so that
// its text does not cause further problems.
func (l *loader) prepareInterps(s *Stage, skip ...string) []*interp {
	its := l.findInterps(s, s.With, skip...)
	for _, it := range its {
		static := true
		for _, p := range it.parts {
			if p.expr == nil {
				continue
			}
			if !p.expr.parse(l.ps) {
				it.broken = true
				continue
			}
			for _, id := range p.expr.idents {
				if id != idParams && id != idMatrix {
					static = false
				}
			}
		}
		if it.broken || !static {
			continue
		}
		env := l.envFor(s.scope, siteStatic, nil)
		for _, p := range it.parts {
			if p.expr != nil && !p.expr.compile(l.ps, env, false) {
				it.broken = true
			}
		}
		it.static = !it.broken
	}
	return its
}

// readsMatrix reports whether a load-time interpolation reads matrix values.
func readsMatrix(its []*interp) bool {
	for _, it := range its {
		for _, p := range it.parts {
			if it.static && p.expr != nil && slices.Contains(p.expr.idents, idMatrix) {
				return true
			}
		}
	}
	return false
}

// staticEval returns the evaluator instantiate uses at load time.
func staticEval(values map[string]any) func(*interp) (any, bool, error) {
	return func(it *interp) (any, bool, error) {
		if !it.static {
			return nil, false, nil
		}
		v, err := it.value(values)
		return v, err == nil, err
	}
}

// configureStage decodes, checks and declares a regular stage, once per
// static instance.
func (l *loader) configureStage(s *Stage) {
	if s.kind == nil {
		return
	}
	s.interps = l.prepareInterps(s)
	insts := l.staticInstances(s.scope)
	shared := 1
	if !readsMatrix(s.interps) {
		shared, insts = len(insts), insts[:1] // the config is the same in every branch
	}
	perInst := make([][]*Problem, len(insts))
	declared := false
	for i, in := range insts {
		inst, dyn, err := instantiate(s.With, s.interps, staticEval(in.values))
		if err != nil {
			perInst[i] = append(perInst[i], l.problemOf(s, err))
			continue
		}
		if i == 0 {
			l.checkDynamicRefs(s, dyn)
		}
		s.dynamic = dyn
		cfg, probs := l.decodeAndCheck(s, inst, dyn, false)
		perInst[i] = append(perInst[i], probs...)
		if len(probs) > 0 {
			continue
		}
		decl, err := callDeclare(s, cfg)
		if err != nil {
			perInst[i] = append(perInst[i], l.problemOf(s, err))
			continue
		}
		l.noteDecl(s, in.label, shared, decl)
		if !declared {
			s.decl, declared = decl, true
		} else {
			s.decl.Metrics = union(s.decl.Metrics, decl.Metrics)
			s.decl.Artifacts = union(s.decl.Artifacts, decl.Artifacts)
			s.decl.Locals = unionLocals(s.decl.Locals, decl.Locals)
		}
	}
	s.broken = !declared
	l.reportInstances(insts, perInst)
}

// checkDynamicRefs reports stage references interpolated from run-time
// values: references build the graph, which is fixed before the run.
func (l *loader) checkDynamicRefs(s *Stage, dynamic []string) {
	t := reflect.TypeOf(s.kind.NewConfig())
	for _, it := range s.interps {
		if !it.broken && slices.Contains(dynamic, it.path) && isRefPath(t, it.path) {
			l.ps.add(it.pos(), fmt.Sprintf("stage %s: %s: a stage reference cannot be interpolated from run-time values (only params and matrix values are known when the graph is built)", s.ID, it.path))
		}
	}
}

// decodeAndCheck decodes an instantiated with block into a fresh config and
// runs the kind's Check on it.
func (l *loader) decodeAndCheck(s *Stage, inst *yaml.Node, dynamic []string, runtime bool) (any, []*Problem) {
	cfg := s.kind.NewConfig()
	if probs := decodeStrict(l.r.File, inst, cfg); len(probs) > 0 {
		for _, p := range probs {
			p.Msg = fmt.Sprintf("stage %s: %s", s.ID, p.Msg)
		}
		return nil, probs
	}
	return cfg, checkConfig(s, l.r.File, l.r.Dir, inst, cfg, dynamic, runtime, nil)
}

// checkConfig runs a kind's Check, turning a panic into a problem.
func checkConfig(s *Stage, file, dir string, inst *yaml.Node, cfg any, dynamic []string, runtime bool, files FileSource) (probs []*Problem) {
	at := s.withPos
	if inst == nil {
		at = s.Pos
	}
	c := &Checker{stage: s.ID, recipeDir: dir, with: inst, at: at, dynamic: dynamic, runtime: runtime, files: files,
		report: func(pos Pos, msg string) {
			probs = append(probs, &Problem{Pos: pos, Msg: fmt.Sprintf("stage %s: %s", s.ID, msg)})
		}}
	c.at.File = file
	defer func() {
		if v := recover(); v != nil {
			probs = append(probs, &Problem{Pos: s.Pos, Msg: fmt.Sprintf("stage %s: internal error: kind %s panicked checking its config: %v\n%s", s.ID, s.Uses, v, debug.Stack())})
		}
	}()
	s.kind.Check(c, cfg)
	return probs
}

func callDeclare(s *Stage, cfg any) (d Decl, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error: kind %s panicked declaring its outputs: %v", s.Uses, v)
		}
	}()
	return s.kind.Declare(cfg), nil
}

func (l *loader) problemOf(s *Stage, err error) *Problem {
	if p, ok := err.(*Problem); ok {
		return p
	}
	return &Problem{Pos: s.Pos, Msg: fmt.Sprintf("stage %s: %v", s.ID, err)}
}

// reportInstances reports problems found in every static instance once, and
// instance-specific ones with the matrix branch they occur in.
func (l *loader) reportInstances(insts []staticInstance, perInst [][]*Problem) {
	count := map[string]int{}
	key := func(p *Problem) string { return fmt.Sprintf("%v\x00%s", p.Pos, p.Msg) }
	for _, probs := range perInst {
		seen := map[string]bool{}
		for _, p := range probs {
			if k := key(p); !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	for i, probs := range perInst {
		for _, p := range probs {
			msg := p.Msg
			if count[key(p)] < len(insts) {
				msg += " (in matrix branch " + insts[i].label + ")"
			}
			l.ps.add(p.Pos, msg)
		}
	}
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// metricNames is what the stage's metrics map holds in expressions.
func (s *Stage) metricNames() []string {
	names := slices.Clone(s.decl.Metrics)
	if s.derived {
		if b := s.baseline(); b != nil {
			if slices.Contains(names, "accuracy") && slices.Contains(b.decl.Metrics, "accuracy") {
				names = append(names, idAccDrop)
			}
			if slices.Contains(names, "perplexity") && slices.Contains(b.decl.Metrics, "perplexity") {
				names = append(names, idPplRatio)
			}
		}
	}
	return names
}

// baseline returns the recipe's baseline stage (found through the top
// scope), or nil.
func (s *Stage) baseline() *Stage {
	sc := s.scope
	for sc.parent != nil {
		sc = sc.parent
	}
	return sc.baseline
}

// label names the stage for messages: "stage x" with its kind.
func (s *Stage) label() string {
	return strings.TrimSpace(fmt.Sprintf("stage %s (%s)", s.ID, s.Uses))
}
