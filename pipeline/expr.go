package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// Expr is an expression written in a recipe: a condition (`when`, a loop's
// `until`, an assert's `that`) or the inside of a `${{ }}` interpolation. It
// is compiled at load time against its scope's typed environment, so unknown
// names, unknown metrics and type errors are load-time problems.
type Expr struct {
	Source string

	node   *yaml.Node // the scalar it was written in
	offset int        // rune offset of Source within node.Value
	file   string
	lines  []string
	what   string // e.g. "stage gate: when", for messages

	tree   *parser.Tree
	prog   *vm.Program
	idents []string // identifiers it reads, in order of first use
	local  string   // a stage's local (Decl.Locals): its LocalRef, left for Run
}

// Pos is the position of the expression's first character.
func (e *Expr) Pos() Pos { return e.posAt(0) }

// posAt maps a rune offset within Source to a recipe position. Plain and
// quoted one-line scalars and literal block scalars (|) map exactly (escape
// sequences before the offset aside); folded and multi-line plain scalars
// map to the scalar's start.
func (e *Expr) posAt(off int) Pos {
	n := e.node
	p := Pos{File: e.file, Line: n.Line, Col: n.Column}
	abs := e.offset + off
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		lines := strings.Split(n.Value, "\n")
		li, ci := 0, abs
		for li < len(lines)-1 && ci > utf8.RuneCountInString(lines[li]) {
			ci -= utf8.RuneCountInString(lines[li]) + 1
			li++
		}
		p.Line = n.Line + 1 + li
		// The block's indentation is that of its first line; later lines
		// keep any extra indentation in the value.
		indent := 0
		if n.Line < len(e.lines) {
			first := e.lines[n.Line]
			indent = len(first) - len(strings.TrimLeft(first, " "))
		}
		p.Col = indent + ci + 1
	case strings.Contains(n.Value, "\n") || n.Style&yaml.FoldedStyle != 0:
		// Folding changed the text: keep the scalar's start.
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		p.Col += 1 + abs
	default:
		p.Col += abs
	}
	return p
}

// parse parses the expression (syntax only) and collects the identifiers it
// reads. It returns false, with the problem reported, on a syntax error.
func (e *Expr) parse(ps *problems) bool {
	tree, err := parser.Parse(e.Source)
	if err != nil {
		e.report(ps, err, nil)
		return false
	}
	e.tree = tree
	seen := map[string]bool{}
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		if id, ok := n.(*ast.IdentifierNode); ok && !seen[id.Value] {
			seen[id.Value] = true
			e.idents = append(e.idents, id.Value)
		}
	}))
	return true
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// compile type-checks the expression against env; cond requires a bool.
func (e *Expr) compile(ps *problems, env *exprEnv, cond bool) bool {
	if e.callsHiddenFunction(ps, env) {
		return false
	}
	opts := []expr.Option{expr.Env(env.types()), expr.DisableBuiltin("now")}
	if cond {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(e.Source, opts...)
	if err != nil {
		e.report(ps, err, env)
		return false
	}
	e.prog = prog
	return true
}

// callsHiddenFunction reports a call of an expression function that a stage
// of the same name hides in env (stage ids may shadow functions: `first.x`
// reads stage first, so `first(list)` cannot call the function), which
// expr-lang would report as a confusing type or syntax error.
func (e *Expr) callsHiddenFunction(ps *problems, env *exprEnv) bool {
	if e.tree == nil {
		return false
	}
	var call *ast.BuiltinNode
	ast.Walk(&e.tree.Node, visitor(func(n ast.Node) {
		if b, ok := n.(*ast.BuiltinNode); ok && call == nil {
			if _, hidden := env.entries[b.Name]; hidden {
				call = b
			}
		}
	}))
	if call == nil {
		return false
	}
	ps.add(e.posAt(call.Location().From), fmt.Sprintf("%s: %s() is an expression function, but stage %s hides it here; rename the stage to call the function", e.what, call.Name, call.Name))
	return true
}

// eval runs the compiled expression on the given values.
func (e *Expr) eval(values map[string]any) (any, error) {
	if e.prog == nil {
		return nil, fmt.Errorf("%s: expression %q was not compiled", e.what, e.Source)
	}
	out, err := expr.Run(e.prog, values)
	if err != nil {
		return nil, &Problem{Pos: e.Pos(), Msg: fmt.Sprintf("%s: %s: %s", e.what, e.Source, firstLine(err.Error()))}
	}
	return out, nil
}

// evalBool runs a condition.
func (e *Expr) evalBool(values map[string]any) (bool, error) {
	out, err := e.eval(values)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, &Problem{Pos: e.Pos(), Msg: fmt.Sprintf("%s: %s gave %T, want a bool", e.what, e.Source, out)}
	}
	return b, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

var (
	unknownNameRE  = regexp.MustCompile(`^unknown name (\S+)$`)
	unknownFieldRE = regexp.MustCompile(`^unknown field (\S+)$`)
	expectedRE     = regexp.MustCompile(`^expected bool, but got (.+)$`)
)

// report turns an expr-lang error into a positioned problem with a
// did-you-mean for unknown names and fields.
func (e *Expr) report(ps *problems, err error, env *exprEnv) {
	var fe *file.Error
	pos, msg := e.Pos(), err.Error()
	if errors.As(err, &fe) {
		pos, msg = e.posAt(fe.From), fe.Message
	}
	if m := unknownNameRE.FindStringSubmatch(msg); m != nil && env != nil {
		msg = env.unknownName(m[1])
	} else if m := unknownFieldRE.FindStringSubmatch(msg); m != nil && env != nil && fe != nil {
		msg = env.unknownField(e.receiverAt(fe.From), m[1])
	} else if m := expectedRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("a condition must be a bool, but this expression gives %s", m[1])
	}
	ps.add(pos, fmt.Sprintf("%s: %s", e.what, msg))
}

// receiverAt returns the identifier whose member starts at rune offset off
// ("baseline" in "baseline.perplexitty"), or "".
func (e *Expr) receiverAt(off int) string {
	if e.tree == nil {
		return ""
	}
	var recv string
	ast.Walk(&e.tree.Node, visitor(func(n ast.Node) {
		if m, ok := n.(*ast.MemberNode); ok && m.Property.Location().From == off {
			if id, ok := m.Node.(*ast.IdentifierNode); ok {
				recv = id.Value
			}
		}
	}))
	return recv
}

// memberRefs returns the "stage.metric" pairs the expression reads, for
// explaining a failed gate.
func (e *Expr) memberRefs() [][2]string {
	var out [][2]string
	if e.tree == nil {
		return nil
	}
	seen := map[[2]string]bool{}
	ast.Walk(&e.tree.Node, visitor(func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return
		}
		id, ok1 := m.Node.(*ast.IdentifierNode)
		prop, ok2 := m.Property.(*ast.StringNode)
		if ok1 && ok2 && !seen[[2]string{id.Value, prop.Value}] {
			seen[[2]string{id.Value, prop.Value}] = true
			out = append(out, [2]string{id.Value, prop.Value})
		}
	}))
	return out
}
