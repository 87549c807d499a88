package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"
)

// A stage's locals (Decl.Locals) are names that only its own `${{ }}`
// interpolations see, standing for values that its Run alone knows (exec's
// inputs written to disk, the directory it gives a program to fill). At
// load time such an expression is checked against the declared keys like
// any other, and must be exactly `NAME.KEY`; at run time the engine leaves
// it in the config as the text `${{ NAME.KEY }}` (LocalRef), for Run to
// replace with SubstituteLocals. Inside the stage's with, a local hides a
// stage of the same name.

// LocalRef is the text that stands for local name.key in a config handed
// to Run: `${{ name.key }}`.
func LocalRef(name, key string) string {
	return interpOpen + " " + name + "." + key + " " + interpClose
}

// SubstituteLocals replaces every LocalRef in s with its value:
// values[name][key].
func SubstituteLocals(s string, values map[string]map[string]string) string {
	if !strings.Contains(s, interpOpen) {
		return s
	}
	var pairs []string
	for _, name := range slices.Sorted(maps.Keys(values)) {
		for _, key := range slices.Sorted(maps.Keys(values[name])) {
			pairs = append(pairs, LocalRef(name, key), values[name][key])
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// stageLocals returns the locals a stage's interpolations see. A stage
// whose config has problems declares what a fresh config of its kind does,
// and any key reads as known (the problem is reported once, at its root).
func stageLocals(s *Stage) (locals map[string][]string, anyKey bool) {
	if s.kind == nil {
		return nil, false
	}
	if !s.broken {
		return s.decl.Locals, false
	}
	d, err := callDeclare(s, s.kind.NewConfig())
	if err != nil {
		return nil, false
	}
	return d.Locals, true
}

// withLocals returns env extended with the locals of s (env itself when it
// has none).
func withLocals(env *exprEnv, s *Stage) *exprEnv {
	locals, anyKey := stageLocals(s)
	if len(locals) == 0 {
		return env
	}
	e := &exprEnv{entries: maps.Clone(env.entries), missing: maps.Clone(env.missing)}
	for name, keys := range locals {
		delete(e.missing, name)
		if anyKey {
			e.entries[name] = envEntry{typ: types.Map{types.Extra: types.String}, what: name, noun: "key"}
			continue
		}
		fields := make(map[string]types.Type, len(keys))
		for _, k := range keys {
			fields[k] = types.String
		}
		e.addMap(name, name, fields, "")
		ent := e.entries[name]
		ent.noun = strings.TrimSuffix(name, "s")
		e.entries[name] = ent
	}
	return e
}

// markLocal checks an interpolated expression of s that reads a local:
// it must be exactly NAME.KEY. It records the LocalRef the engine hands to
// Run. It returns false after reporting a problem.
func (l *loader) markLocal(s *Stage, e *Expr) bool {
	locals, _ := stageLocals(s)
	var local string
	for _, id := range e.idents {
		if _, ok := locals[id]; ok {
			local = id
			break
		}
	}
	if local == "" || e.tree == nil {
		return true
	}
	if m, ok := e.tree.Node.(*ast.MemberNode); ok && !m.Optional {
		id, ok1 := m.Node.(*ast.IdentifierNode)
		key, ok2 := m.Property.(*ast.StringNode)
		if ok1 && ok2 {
			e.local = LocalRef(id.Value, key.Value)
			return true
		}
	}
	l.ps.add(e.Pos(), fmt.Sprintf("%s: %s.KEY is a value that stage %s gives when it runs; write it alone in its %s %s, e.g. %s",
		e.what, local, s.ID, interpOpen, interpClose, LocalRef(local, "NAME")))
	return false
}

// dropLocals returns the identifiers of e that are not locals of s (the
// stages and other names it reads).
func dropLocals(s *Stage, idents []string) []string {
	locals, _ := stageLocals(s)
	if len(locals) == 0 {
		return idents
	}
	return slices.DeleteFunc(slices.Clone(idents), func(id string) bool {
		_, ok := locals[id]
		return ok
	})
}

// unionLocals merges the locals of two declarations (matrix instances).
func unionLocals(a, b map[string][]string) map[string][]string {
	if len(b) == 0 {
		return a
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string][]string{}
	}
	for name, keys := range b {
		out[name] = union(out[name], keys)
	}
	return out
}
