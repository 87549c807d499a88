package pipeline

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

var stageKeys = []string{"uses", "needs", "when", "with", "stages", "description", "runs_on"}

// queueRE is what a task queue's name (runs_on) may be.
var queueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// stages parses a `stages` mapping into scope sc.
func (l *loader) stages(n *yaml.Node, parent *Stage, sc *scope) []*Stage {
	sc.owner = parent
	for _, p := range l.pairs(n, "stages") {
		l.stage(p, parent, sc)
	}
	return sc.stages
}

func (l *loader) stage(p pair, parent *Stage, sc *scope) {
	id := p.key.Value
	s := &Stage{ID: id, Pos: l.pos(p.key), Parent: parent, scope: sc}
	register := true
	switch {
	case !identRE.MatchString(id):
		l.errorf(p.key, "stage id %q: use letters, digits and '_', starting with a letter (ids are names in expressions)", id)
		register = false
	case reservedName(id) != "":
		l.errorf(p.key, "stage id %s; choose another id", reservedName(id))
		register = false
	}
	if first, dup := l.r.byID[id]; dup && register {
		l.errorf(p.key, "duplicate stage id %q (first at line %d); stage ids are unique across the recipe", id, first.Pos.Line)
		register = false
	}
	what := "stage " + id
	fields := l.fields(p.value, what, stageKeys)
	if resolveAlias(p.value).Kind != yaml.MappingNode {
		return
	}
	if u, ok := fields["uses"]; !ok {
		l.errorf(p.key, "stage %s: missing `uses` (the stage kind: one of %s)", id, oneOf(l.reg.Kinds()))
		register = false
	} else if uses, ok := l.str(u.value, what+": uses"); ok {
		s.Uses, s.usesPos = uses, l.pos(u.value)
		kind, known := l.reg.Kind(uses)
		if !known {
			l.errorf(u.value, "stage %s: unknown stage kind %q%s; known kinds: %s", id, uses, didYouMean(uses, l.reg.Kinds()), oneOf(l.reg.Kinds()))
			register = false
		}
		s.kind = kind
	} else {
		register = false
	}
	if d, ok := fields["description"]; ok {
		s.Description, _ = l.str(d.value, what+": description")
	}
	if q, ok := fields["runs_on"]; ok {
		l.runsOn(s, q)
	}
	if n, ok := fields["needs"]; ok {
		s.Needs = l.refs(n.value, what+": needs")
	}
	if w, ok := fields["when"]; ok {
		s.When = l.expr(w.value, what+": when")
	}
	if w, ok := fields["with"]; ok {
		s.withPos = l.pos(w.key)
		if v := resolveAlias(w.value); !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
			s.With = v
		}
	}
	if b, ok := fields["stages"]; ok {
		if s.Uses != "" && s.Uses != KindLoop && s.Uses != KindMatrix {
			l.errorf(b.key, "stage %s: only loop and matrix stages have `stages` (this one uses %s)", id, s.Uses)
		} else {
			s.body = &scope{parent: sc, byID: map[string]*Stage{}}
			s.Body = l.stages(b.value, s, s.body)
			if v := resolveAlias(b.value); v.Kind == yaml.MappingNode && len(v.Content) == 0 {
				l.errorf(b.value, "stage %s: `stages` is empty", id)
			}
		}
	} else if s.Uses == KindLoop || s.Uses == KindMatrix {
		l.errorf(p.key, "stage %s: a %s needs `stages`, the sub-stages it runs", id, s.Uses)
		register = false
	}
	if !register {
		return
	}
	l.r.byID[id] = s
	sc.byID[id] = s
	sc.stages = append(sc.stages, s)
}

// runsOn parses `runs_on`: the task queue of a distributed run's workers
// that runs the stage.
func (l *loader) runsOn(s *Stage, q pair) {
	name, ok := l.str(q.value, "stage "+s.ID+": runs_on")
	switch {
	case !ok:
	case s.Uses == KindLoop || s.Uses == KindMatrix || s.Uses == KindAssert:
		l.errorf(q.key, "stage %s: runs_on is for stages that run a kind; a %s is decided by the scheduler (put runs_on on the stages inside it)", s.ID, s.Uses)
	case CheckQueue(name) != nil:
		l.errorf(q.value, "stage %s: runs_on %v", s.ID, CheckQueue(name))
	default:
		s.RunsOn = name
	}
}

// CheckQueue checks the name of a task queue (runs_on, lopper worker
// --queue).
func CheckQueue(name string) error {
	if !queueRE.MatchString(name) {
		return fmt.Errorf("%q: a task queue's name is letters, digits, '.', '_' and '-' (at most 100), e.g. gpu", name)
	}
	return nil
}

// refs parses `needs`: a stage id or a list of them.
func (l *loader) refs(n *yaml.Node, what string) []Ref {
	n = resolveAlias(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []Ref
	for _, it := range items {
		if id, ok := l.str(it, what); ok {
			out = append(out, Ref{ID: id, Line: it.Line, Col: it.Column})
		}
	}
	return out
}

// expr records an expression written at node n; it is compiled later,
// against its scope's environment.
func (l *loader) expr(n *yaml.Node, what string) *Expr {
	src, ok := l.str(n, what)
	if !ok {
		return nil
	}
	if src == "" {
		l.errorf(n, "%s: empty expression", what)
		return nil
	}
	return &Expr{Source: src, node: n, file: l.r.File, lines: l.ps.lines, what: what}
}

// refError reports an unresolvable reference.
func (l *loader) refError(r Ref, format string, args ...any) {
	l.ps.at(r.Line, r.Col, "%s", fmt.Sprintf(format, args...))
}
