package pipeline

import (
	"gopkg.in/yaml.v3"
)

// SchemaVersion is the recipe schema version this engine reads.
const SchemaVersion = 1

// Recipe is a loaded, validated recipe with its params resolved. It is
// immutable once Load returns and may be run any number of times.
type Recipe struct {
	File        string // the path as given (used in messages)
	Path        string // absolute path
	Dir         string // absolute directory: relative paths in the recipe resolve against it
	Source      []byte // the file verbatim
	Digest      string // "sha256:…" of Source
	Name        string // `name`, or the file name without extension
	Description string
	Baseline    string // top-level `baseline` stage id, "" if none
	Params      []*Param
	Stages      []*Stage // top-level stages in file order

	byID     map[string]*Stage // every stage of the recipe, nested ones included
	top      *scope
	registry *Registry
	reads    []readPath    // the files stages read, known at load time
	files    []string      // the same, as Decl.Files name them resolved (Files)
	outputs  []*outputSite // the outputs known at load time, checked
}

// Stage returns the stage with the given id, at any nesting level.
func (r *Recipe) Stage(id string) (*Stage, bool) {
	s, ok := r.byID[id]
	return s, ok
}

// ParamType is the type of a recipe param.
type ParamType string

// Param types. A path is a string resolved against the recipe's directory
// (default) or the working directory (--set) and made absolute.
const (
	ParamString ParamType = "string"
	ParamPath   ParamType = "path"
	ParamInt    ParamType = "int"
	ParamFloat  ParamType = "float"
	ParamBool   ParamType = "bool"
)

var paramTypes = []string{"bool", "float", "int", "path", "string"}

// Param is a typed recipe param. Value is the resolved value: string (also
// for paths), int, float64 or bool.
type Param struct {
	Name    string
	Type    ParamType
	Default any
	Doc     string
	Pos     Pos
	Value   any
	Source  string // "default" or "--set"
}

// Stage is one stage of a recipe.
type Stage struct {
	ID          string
	Uses        string
	Description string
	Pos         Pos   // position of the stage's id
	Needs       []Ref // explicit dependencies
	When        *Expr // nil when absent
	With        *yaml.Node
	Body        []*Stage // loop and matrix sub-stages, in file order
	Parent      *Stage   // the enclosing loop or matrix, nil at top level
	RunsOn      string   // the task queue of a distributed run that runs it ("" the default)

	kind    Kind
	scope   *scope // the scope the stage belongs to
	body    *scope // the scope of Body (loop and matrix)
	usesPos Pos
	withPos Pos
	decl    Decl
	// deps are same-scope dependencies; refs from inside a loop or matrix
	// body to outer stages become dependencies of the outermost enclosing
	// stage that lives in the referenced stage's scope.
	deps    []*Stage
	why     map[*Stage]string // dependency → how it was inferred, for messages
	interps []*interp
	dynamic []string // `with` paths whose values are interpolated at run time
	derived bool     // acc_drop / ppl_ratio are added to its metrics
	// broken: the stage's own config has problems, so what it produces is
	// unknown; references to it are not checked further, so that one
	// mistake is reported once, at its root, not again at every reader.
	broken bool
	loop   *loopSpec
	matrix *matrixSpec
	assert *assertSpec
}

// Deps returns the ids of the stage's dependencies within its scope.
func (s *Stage) Deps() []string {
	ids := make([]string, len(s.deps))
	for i, d := range s.deps {
		ids[i] = d.ID
	}
	return ids
}

// Metrics returns the metric names the stage declares (including the
// derived acc_drop / ppl_ratio when it is downstream of the baseline).
func (s *Stage) Metrics() []string { return s.metricNames() }

// Artifacts returns the artifact names the stage declares.
func (s *Stage) Artifacts() []string { return s.decl.Artifacts }

// scope is a set of stages that form one DAG: the top level, or the body of
// a loop or matrix.
type scope struct {
	owner  *Stage // nil at the top level
	parent *scope
	stages []*Stage
	byID   map[string]*Stage
	// baseline is the recipe's baseline stage (top scope only).
	baseline *Stage
}
