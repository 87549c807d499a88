package pipeline

import (
	"encoding/json"
	"slices"
)

// What executors read from a compiled recipe. Recipe.Stages and Stage.Body
// are the scopes (each one DAG, in file order); the methods below give each
// stage's dependencies, its control spec (loop, matrix, assert) and, for a
// registered kind, its config as one run of it sees it. Everything here is
// read-only and deterministic: a workflow engine that must replay its
// decisions may call it.

// The names an expression reads besides stage ids (see Values).
const (
	NameParams    = idParams    // the recipe's params
	NameIteration = idIteration // the innermost loop's iteration, from 0
	NameMatrix    = idMatrix    // the enclosing matrix branches' values
	NamePrev      = idPrev      // a loop's previous carry (or from), by its metrics
)

// Registry returns the registry the recipe was loaded with.
func (r *Recipe) Registry() *Registry { return r.registry }

// Files returns the files and directories the recipe's stages read
// (Decl.Files) as far as they are known when it is loaded (a path made of
// run-time values is not), absolute (relative ones joined to the recipe's
// directory, as the cache key names them), sorted.
func (r *Recipe) Files() []string { return slices.Sorted(slices.Values(r.files)) }

// DependsOn returns the stages this one waits for, all in its own scope: its
// needs, the stages its config and expressions read, and, for a reference
// from inside a loop or matrix body to an outer stage, the stage of this
// scope that encloses the reader.
func (s *Stage) DependsOn() []*Stage { return slices.Clone(s.deps) }

// Kind returns the stage's registered kind; nil for the engine-level kinds
// loop, matrix and assert.
func (s *Stage) Kind() Kind { return s.kind }

// Volatile reports whether the stage's kind declared it volatile when the
// recipe was loaded (see Decl): it writes files, reads the run record or
// the clock, and is never cached.
func (s *Stage) Volatile() bool { return s.decl.Volatile }

// LoopPlan is a loop stage's compiled `with` block.
type LoopPlan struct {
	MaxIterations int
	Keep          string // KeepLastPassing or KeepLast
	Until         *Expr  // nil without until
	From          *Stage // in the loop's scope; nil without from
	Carry         *Stage // in the body: the iteration's result and the next prev
	Measure       *Stage // in the body; nil without measure
}

// Loop returns the plan of a loop stage, nil for other stages.
func (s *Stage) Loop() *LoopPlan {
	if s.loop == nil {
		return nil
	}
	l := s.loop
	return &LoopPlan{MaxIterations: l.max, Keep: l.keep, Until: l.until, From: l.fromStage, Carry: l.carryStage, Measure: l.measureStage}
}

// MatrixBranch is one combination of a matrix's axis values.
type MatrixBranch struct {
	Label  string         // "sparsity=0.5, method=wanda"
	Values map[string]any // axis → value
}

// MatrixAxes returns a matrix stage's axis names in order, nil for other
// stages.
func (s *Stage) MatrixAxes() []string {
	if s.matrix == nil {
		return nil
	}
	return s.matrix.axisNames()
}

// MatrixBranches returns a matrix stage's branches: the cartesian product
// of its axes, first axis outermost. Nil for other stages.
func (s *Stage) MatrixBranches() []MatrixBranch {
	if s.matrix == nil {
		return nil
	}
	var out []MatrixBranch
	for _, b := range s.matrix.branches() {
		out = append(out, MatrixBranch{Label: b.label, Values: b.values})
	}
	return out
}

// EvalBool evaluates a condition (when, until, that) on the values in
// scope; an evaluation error or a non-bool value is an error at the
// expression's position.
func (e *Expr) EvalBool(values map[string]any) (bool, error) { return e.evalBool(values) }

// Values returns what an expression of a stage reads: the params, and the
// metrics of each finished stage by id, plus the innermost loop's iteration
// and prev and the enclosing matrix values where there are any (iteration
// < 0 and nil prev or matrix where there are none).
func Values(params map[string]any, iteration int, prev *Result, matrix map[string]any, metrics map[string]Metrics) map[string]any {
	v := make(map[string]any, len(metrics)+4)
	for id, m := range metrics {
		v[id] = MetricValues(m)
	}
	v[idParams] = params
	if matrix != nil {
		v[idMatrix] = matrix
	}
	if iteration >= 0 {
		v[idIteration] = iteration
	}
	if prev != nil {
		v[idPrev] = MetricValues(prev.Metrics)
	}
	return v
}

// MetricValues returns metrics as an expression reads them.
func MetricValues(m Metrics) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Instance is a registered kind's stage as one run of it sees it.
type Instance struct {
	Config any             // the interpolated, decoded and checked config
	Decl   Decl            // the kind's declaration for it, with what was declared at load time
	JSON   json.RawMessage // the resolved config, for the run record
	Digest string          // its digest, part of the cache key
}

// Instantiate interpolates a registered kind's stage config with the values
// in scope, decodes it, checks it with every value known, asks the kind for
// its declaration and checks the outputs it declares against the run's
// directories. Problems are a *ValidationError at the recipe's positions.
func (r *Recipe) Instantiate(s *Stage, values map[string]any, paths RunPaths) (*Instance, error) {
	return r.InstantiateOn(s, values, paths, nil)
}

// InstantiateOn is Instantiate on a machine where the files the recipe
// names are reached through files (nil: at their paths): the config's
// checks see them as the run's own machine saw them (Checker.Stat).
func (r *Recipe) InstantiateOn(s *Stage, values map[string]any, paths RunPaths, files FileSource) (*Instance, error) {
	inst, _, err := instantiate(s.With, s.interps, func(it *interp) (any, bool, error) {
		v, err := it.value(values)
		return v, err == nil, err
	})
	if err != nil {
		return nil, err
	}
	cfg := s.kind.NewConfig()
	if probs := decodeStrict(r.File, inst, cfg); len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	if probs := checkConfig(s, r.File, r.Dir, inst, cfg, nil, true, files); len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	decl, err := callDeclare(s, cfg)
	if err != nil {
		return nil, err
	}
	if err := r.checkStageOutputs(s, decl, paths); err != nil {
		return nil, err
	}
	// What was declared at load time (and typed in expressions) must be
	// there too.
	decl.Metrics = union(decl.Metrics, s.decl.Metrics)
	decl.Artifacts = union(decl.Artifacts, s.decl.Artifacts)
	cfgJSON, digest, err := ConfigJSON(s.Uses, cfg)
	if err != nil {
		return nil, err
	}
	return &Instance{Config: cfg, Decl: decl, JSON: cfgJSON, Digest: digest}, nil
}
