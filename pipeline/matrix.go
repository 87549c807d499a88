package pipeline

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/types"
	"gopkg.in/yaml.v3"
)

// maxBranches bounds a matrix's cartesian product.
const maxBranches = 10000

// matrixSpec is a matrix's with block: each key is an axis, each value the
// list of its values; the branches are the cartesian product (first axis
// outermost), run concurrently, with the values in scope as matrix.AXIS.
type matrixSpec struct {
	axes []matrixAxis
}

type matrixAxis struct {
	name   string
	values []any // int, float64, string or bool; one type per axis
	typ    types.Type
}

// matrixBranch is one combination of axis values.
type matrixBranch struct {
	index  int
	label  string // "sparsity=0.5, method=wanda"
	values map[string]any
}

// MetricBranches is a matrix's metric: the number of branches.
const MetricBranches = "branches"

func (l *loader) configureMatrix(s *Stage) {
	spec := &matrixSpec{}
	s.matrix = spec
	s.decl.Metrics = []string{MetricBranches}
	inst, ok := l.decodeControl(s, nil)
	if ok && inst == nil {
		l.ps.add(s.Pos, fmt.Sprintf("stage %s: a matrix needs `with: {AXIS: [values…]}`", s.ID))
	}
	if ok && inst != nil {
		l.matrixAxes(s, inst)
	}
	l.configureScope(s.body)
}

func (l *loader) matrixAxes(s *Stage, inst *yaml.Node) {
	spec := s.matrix
	outer := matrixAxes(s.scope)
	total := 1 // branches, times those of the enclosing matrices
	for sc := s.scope; sc != nil; sc = sc.parent {
		if sc.owner != nil && sc.owner.matrix != nil {
			total *= max(1, len(sc.owner.matrix.branches()))
		}
	}
	for _, p := range l.pairs(inst, fmt.Sprintf("stage %s: with", s.ID)) {
		name := p.key.Value
		switch {
		case !identRE.MatchString(name):
			l.errorf(p.key, "stage %s: matrix axis %q: use letters, digits and '_' (axes are read as matrix.NAME)", s.ID, name)
			continue
		case outer[name] != nil:
			l.errorf(p.key, "stage %s: matrix axis %q is already an axis of an enclosing matrix", s.ID, name)
			continue
		}
		ax, ok := l.matrixAxis(s, name, p.value)
		if !ok {
			continue
		}
		spec.axes = append(spec.axes, ax)
		total *= len(ax.values)
		if total > maxBranches {
			l.errorf(p.value, "stage %s: the matrix has more than %d branches (counting enclosing matrices)", s.ID, maxBranches)
			return
		}
	}
	if len(spec.axes) == 0 && len(inst.Content) == 0 {
		l.errorf(inst, "stage %s: a matrix needs at least one axis: `with: {AXIS: [values…]}`", s.ID)
	}
}

// matrixAxis parses one axis: a non-empty list of distinct scalars of one
// type (ints and floats mixed become floats).
func (l *loader) matrixAxis(s *Stage, name string, n *yaml.Node) (matrixAxis, bool) {
	ax := matrixAxis{name: name}
	n = resolveAlias(n)
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		l.errorf(n, "stage %s: matrix axis %s: want a non-empty list of values, got %s", s.ID, name, describe(n))
		return ax, false
	}
	tags := map[string]bool{}
	seen := map[string]int{}
	for _, v := range n.Content {
		v = resolveAlias(v)
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			l.errorf(v, "stage %s: matrix axis %s: values are numbers, strings or booleans, got %s", s.ID, name, describe(v))
			return ax, false
		}
		if first, dup := seen[v.Tag+v.Value]; dup {
			l.errorf(v, "stage %s: matrix axis %s: duplicate value %s (first at line %d)", s.ID, name, v.Value, first)
			return ax, false
		}
		seen[v.Tag+v.Value] = v.Line
		tags[v.Tag] = true
	}
	numeric := len(tags) == 2 && tags["!!int"] && tags["!!float"]
	if len(tags) > 1 && !numeric {
		l.errorf(n, "stage %s: matrix axis %s: values must share one type", s.ID, name)
		return ax, false
	}
	for _, v := range n.Content {
		v = resolveAlias(v)
		var val any
		var err error
		switch {
		case numeric || v.Tag == "!!float":
			var f float64
			err = v.Decode(&f)
			val, ax.typ = f, types.Float64
		case v.Tag == "!!int":
			var i int
			err = v.Decode(&i)
			val, ax.typ = i, types.Int
		case v.Tag == "!!bool":
			var b bool
			err = v.Decode(&b)
			val, ax.typ = b, types.Bool
		default:
			val, ax.typ = v.Value, types.String
		}
		if err != nil {
			l.errorf(v, "stage %s: matrix axis %s: %v", s.ID, name, err)
			return ax, false
		}
		ax.values = append(ax.values, val)
	}
	return ax, true
}

// branches returns the cartesian product of the axes, first axis outermost.
func (m *matrixSpec) branches() []matrixBranch {
	if len(m.axes) == 0 {
		return nil
	}
	out := []matrixBranch{{values: map[string]any{}}}
	for _, ax := range m.axes {
		var next []matrixBranch
		for _, b := range out {
			for _, v := range ax.values {
				vals := make(map[string]any, len(b.values)+1)
				for k, x := range b.values {
					vals[k] = x
				}
				vals[ax.name] = v
				next = append(next, matrixBranch{values: vals, label: joinLabel(b.label, ax.name+"="+formatValue(v))})
			}
		}
		out = next
	}
	for i := range out {
		out[i].index = i
		out[i].label = strings.TrimSpace(out[i].label)
	}
	return out
}

// Axes returns the axis names in order.
func (m *matrixSpec) axisNames() []string {
	names := make([]string, len(m.axes))
	for i, a := range m.axes {
		names[i] = a.name
	}
	return names
}
