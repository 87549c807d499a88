package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// interp is one string value of a `with` block that contains `${{ expr }}`.
// A value that is exactly one `${{ }}` keeps the expression's type
// (`sparsity: "${{ params.s }}"` decodes as a float); otherwise the parts are
// formatted and concatenated into a string. `$${{` writes a literal `${{`.
type interp struct {
	path   string // dotted path in `with`, e.g. "schedule.to"
	file   string
	node   *yaml.Node // the scalar in the recipe
	parts  []interpPart
	whole  bool // exactly one expression and nothing else
	static bool // reads only params and matrix: evaluated at load time
	broken bool // has a reported problem: never evaluated
}

type interpPart struct {
	lit  string
	expr *Expr
}

const (
	interpOpen  = "${{"
	interpClose = "}}"
)

// findInterps walks a with block and returns every interpolated value. skip
// names top-level keys that hold expressions (a loop's until) and are left
// alone.
func (l *loader) findInterps(s *Stage, with *yaml.Node, skip ...string) []*interp {
	var out []*interp
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		n = resolveAlias(n)
		if depth > 100 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for _, p := range mappingPairs(n) {
				if strings.Contains(p.key.Value, interpOpen) {
					l.errorf(p.key, "stage %s: keys cannot be interpolated, only values", s.ID)
				}
				if path == "" && slices.Contains(skip, p.key.Value) {
					continue
				}
				walk(p.value, joinPath(path, p.key.Value), depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, joinPath(path, strconv.Itoa(i)), depth+1)
			}
		case yaml.ScalarNode:
			if n.Tag == "!!str" && strings.Contains(n.Value, interpOpen) {
				out = append(out, l.parseInterp(s, n, path))
			}
		}
	}
	if with != nil {
		walk(with, "", 0)
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parseInterp splits a scalar into literal text and expressions.
func (l *loader) parseInterp(s *Stage, n *yaml.Node, path string) *interp {
	it := &interp{path: path, node: n, file: l.r.File}
	rest, consumed := n.Value, 0 // consumed counts runes of n.Value before rest
	var lit strings.Builder
	for {
		i := strings.Index(rest, interpOpen)
		if i < 0 {
			lit.WriteString(rest)
			break
		}
		if i > 0 && rest[i-1] == '$' { // $${{ is a literal ${{
			lit.WriteString(rest[:i-1] + interpOpen)
			consumed += utf8.RuneCountInString(rest[:i+len(interpOpen)])
			rest = rest[i+len(interpOpen):]
			continue
		}
		lit.WriteString(rest[:i])
		consumed += utf8.RuneCountInString(rest[:i])
		body := rest[i+len(interpOpen):]
		j := strings.Index(body, interpClose)
		if j < 0 {
			e := &Expr{node: n, offset: consumed, file: l.r.File, lines: l.ps.lines}
			l.ps.add(e.Pos(), fmt.Sprintf("stage %s: %s: unterminated %s: add the closing %s", s.ID, fieldLabel(path), interpOpen, interpClose))
			return &interp{path: path, node: n, file: l.r.File, broken: true}
		}
		src := body[:j]
		lead := len(src) - len(strings.TrimLeft(src, " \t"))
		e := &Expr{
			Source: strings.TrimSpace(src), node: n, file: l.r.File, lines: l.ps.lines,
			offset: consumed + utf8.RuneCountInString(interpOpen+src[:lead]),
			what:   fmt.Sprintf("stage %s: %s", s.ID, fieldLabel(path)),
		}
		if e.Source == "" {
			l.ps.add(e.Pos(), fmt.Sprintf("%s: empty %s %s", e.what, interpOpen, interpClose))
			return &interp{path: path, node: n, file: l.r.File, broken: true}
		}
		if lit.Len() > 0 {
			it.parts = append(it.parts, interpPart{lit: lit.String()})
			lit.Reset()
		}
		it.parts = append(it.parts, interpPart{expr: e})
		consumed += utf8.RuneCountInString(interpOpen + src + interpClose)
		rest = body[j+len(interpClose):]
	}
	if lit.Len() > 0 {
		it.parts = append(it.parts, interpPart{lit: lit.String()})
	}
	it.whole = len(it.parts) == 1 && it.parts[0].expr != nil
	return it
}

// value evaluates the interpolation on the given values.
// A stage's local (Decl.Locals) is written as its LocalRef, for the
// stage's Run to replace.
func (it *interp) value(values map[string]any) (any, error) {
	if it.whole && it.parts[0].expr.local == "" {
		return it.parts[0].expr.eval(values)
	}
	var b strings.Builder
	for _, p := range it.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		if p.expr.local != "" {
			b.WriteString(p.expr.local)
			continue
		}
		v, err := p.expr.eval(values)
		if err != nil {
			return nil, err
		}
		b.WriteString(formatValue(v))
	}
	return b.String(), nil
}

// formatValue formats an interpolated value inside a string.
func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// valueNode encodes an interpolated value as a YAML node at n's position.
func valueNode(v any, at *yaml.Node) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("cannot use %T value in a config: %w", v, err)
	}
	setPos(&n, at.Line, at.Column)
	return &n, nil
}

func setPos(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setPos(c, line, col)
	}
}

// placeholder stands in for a value known only at run time: null decodes
// into any field as its zero value.
func placeholder(at *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "", Line: at.Line, Column: at.Column}
}

// instantiate copies with and substitutes every interpolation: values from
// eval when it returns ok, placeholders otherwise. It returns the new tree
// and the paths that got placeholders.
func instantiate(with *yaml.Node, its []*interp, eval func(*interp) (any, bool, error)) (*yaml.Node, []string, error) {
	if with == nil {
		return nil, nil, nil
	}
	inst, err := copyNode(with)
	if err != nil {
		return nil, nil, err
	}
	var dynamic []string
	for _, it := range its {
		target, _, found := lookupPath(inst, it.path)
		if !found {
			return nil, nil, fmt.Errorf("internal error: interpolated value %s not found", it.path)
		}
		v, ok, err := eval(it)
		if err != nil {
			return nil, nil, err
		}
		var repl *yaml.Node
		if ok {
			if repl, err = valueNode(v, it.node); err != nil {
				return nil, nil, &Problem{Pos: it.pos(), Msg: fmt.Sprintf("%s: %v", fieldLabel(it.path), err)}
			}
		} else {
			repl = placeholder(it.node)
			dynamic = append(dynamic, it.path)
		}
		*target = *repl
	}
	return inst, dynamic, nil
}

// pos is the position of the interpolated value.
func (it *interp) pos() Pos {
	return Pos{File: it.file, Line: it.node.Line, Col: it.node.Column}
}
