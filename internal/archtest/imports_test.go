package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// design is where the import graph is written, relative to the module root.
const design = "docs/DESIGN.md"

// fileImport is one import of a lopper package, at a position in a file.
type fileImport struct {
	pos      string // FILE:LINE:COL, FILE relative to the module root
	from, to string // package names as in the graph
	test     bool   // the file is a _test.go file
}

// module is what the graph is checked against: the module's packages
// (name → directory) and their imports of each other.
type module struct {
	pkgs    map[string]string
	imports []fileImport
}

// Every import of a lopper package, in every file of the module, is one
// that the graph in docs/DESIGN.md allows; every package has a line there,
// every edge there is used, and the edges point one way.
func TestImportsFollowDesign(t *testing.T) {
	root, pkgs := listModule(t)
	doc, err := os.ReadFile(filepath.Join(root, design))
	if err != nil {
		t.Fatal(err)
	}
	g, err := parseGraph(doc)
	if err != nil {
		t.Fatalf("%s: %v", design, err)
	}
	m := readImports(t, root, pkgs)
	for _, msg := range checkGraph(g, m) {
		t.Error(msg)
	}
}

// readImports parses the imports of every file of pkgs.
func readImports(t *testing.T, root string, pkgs []*pkg) *module {
	t.Helper()
	m := &module{pkgs: map[string]string{}}
	fset := token.NewFileSet()
	for _, p := range pkgs {
		m.pkgs[p.name()] = rel(root, p.Dir)
		for file, test := range p.files() {
			f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, err := strconv.Unquote(imp.Path.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(imp.Pos()), err)
				}
				to, ok := graphName(path)
				if !ok || to == p.name() { // not lopper's, or an external test of its own package
					continue
				}
				pos := fset.Position(imp.Pos())
				m.imports = append(m.imports, fileImport{
					pos:  fmt.Sprintf("%s:%d:%d", rel(root, pos.Filename), pos.Line, pos.Column),
					from: p.name(), to: to, test: test,
				})
			}
		}
	}
	slices.SortFunc(m.imports, func(a, b fileImport) int { return strings.Compare(a.pos, b.pos) })
	return m
}

// graphName returns the graph's name for import path, and whether it is a
// package of module lopper.
func graphName(path string) (string, bool) {
	if path == modulePath {
		return "main", true
	}
	name, ok := strings.CutPrefix(path, modulePath+"/")
	return name, ok
}

// checkGraph returns what is wrong: imports the graph does not allow,
// packages it does not name or names that are no package, edges nothing
// uses, and a cycle. Each message names the file and the edge, or the
// line of docs/DESIGN.md.
func checkGraph(g *graph, m *module) []string {
	var msgs []string
	used := map[edge]bool{}
	for _, imp := range m.imports {
		used[edge{imp.from, imp.to, imp.test}] = true
		if g.allows(imp.from, imp.to, imp.test) {
			continue
		}
		add, where := imp.from+" → "+imp.to, ""
		if imp.test {
			add, where = "test: "+add, " (in a test)"
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s imports %s%s, which the import graph in %s does not allow: if the design allows it, add `%s` to its imports block",
			imp.pos, imp.from, imp.to, where, design, add))
	}
	for name, dir := range sorted(m.pkgs) {
		if _, ok := g.pkgs[name]; !ok {
			msgs = append(msgs, fmt.Sprintf("%s: package %s (%s) has no line in the imports block: add one, with the packages it imports", design, name, dir))
		}
	}
	for name, line := range sorted(g.pkgs) {
		if _, ok := m.pkgs[name]; !ok {
			msgs = append(msgs, fmt.Sprintf("%s:%d: the imports block names %s, which is not a package of module %s", design, line, name, modulePath))
		}
	}
	for _, e := range g.order {
		if usedBy(used, e) {
			continue
		}
		line := g.allow[e]
		switch {
		case e.test:
			msgs = append(msgs, fmt.Sprintf("%s:%d: test: %s → %s is allowed, but no test makes that import: remove it", design, line, e.from, e.to))
		case used[edge{e.from, e.to, true}]:
			msgs = append(msgs, fmt.Sprintf("%s:%d: only tests of %s import %s: make it a `test: %s → %s` line", design, line, e.from, e.to, e.from, e.to))
		default:
			msgs = append(msgs, fmt.Sprintf("%s:%d: %s → %s is allowed, but %s does not import %s: remove it", design, line, e.from, e.to, e.from, e.to))
		}
	}
	if c := g.cycle(); c != "" {
		msgs = append(msgs, fmt.Sprintf("%s: the imports block allows a cycle, %s: imports point downward only", design, c))
	}
	return msgs
}

// usedBy reports whether some import uses the allowed edge e.
func usedBy(used map[edge]bool, e edge) bool {
	if e.from != "*" {
		return used[e]
	}
	for u := range used {
		if u.test && u.to == e.to {
			return true
		}
	}
	return false
}

// sorted iterates over m in key order, for messages in a stable order.
func sorted[V any](m map[string]V) func(yield func(string, V) bool) {
	return func(yield func(string, V) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
