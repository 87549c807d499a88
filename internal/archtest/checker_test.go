package archtest

import (
	"strings"
	"testing"
)

const sampleDoc = "# design\n\n```imports\n" +
	"main → app, lib   # the root\n" +
	"app -> lib → leaf\n" +
	"leaf\n" +
	"\n" +
	"testkit → lib\n" +
	"test: * → testkit\n" +
	"test: leaf → app\n" +
	"```\n"

// The block's lines become edges: groups, chains, ASCII arrows, comments,
// test: lines and * on their left.
func TestParseGraph(t *testing.T) {
	g, err := parseGraph([]byte(sampleDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[edge]int{
		{"main", "app", false}: 4, {"main", "lib", false}: 4, {"app", "lib", false}: 5, {"lib", "leaf", false}: 5,
		{"testkit", "lib", false}: 8, {"*", "testkit", true}: 9, {"leaf", "app", true}: 10,
	}
	if len(g.allow) != len(want) {
		t.Errorf("edges %v, want %v", g.allow, want)
	}
	for e, line := range want {
		if got, ok := g.allow[e]; !ok || got != line {
			t.Errorf("edge %v: line %d (%v), want %d", e, got, ok, line)
		}
	}
	for name, line := range map[string]int{"main": 4, "app": 4, "lib": 4, "leaf": 5, "testkit": 8} {
		if g.pkgs[name] != line {
			t.Errorf("package %s first on line %d, want %d", name, g.pkgs[name], line)
		}
	}
	if !g.allows("app", "testkit", true) || g.allows("app", "testkit", false) || g.allows("leaf", "app", false) || !g.allows("main", "lib", true) {
		t.Error("allows: test: lines allow in tests only; other lines in tests too")
	}
	if c := g.cycle(); c != "" {
		t.Errorf("cycle %q in an acyclic graph", c)
	}
}

func TestParseGraphErrors(t *testing.T) {
	for src, want := range map[string]string{
		"no block here\n":                       "no ```imports block",
		"```imports\na → b\n":                   "not closed",
		"```imports\n* → b\n```\n":              "line 2: * (every package) may only start a test: line",
		"```imports\ntest: a\n```\n":            "line 2: a test: line needs an edge",
		"```imports\na → Bad Name\n```\n":       `line 2: "Bad Name" is not a package name`,
		"```imports\na → , b\n```\n":            `line 2: "" is not a package name`,
		"```imports\na → a\n```\n":              "a package does not import itself",
		"```imports\na\n```\n```imports\n```\n": "line 4: a second ```imports block",
	} {
		if _, err := parseGraph([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

// The checker names the file and the edge of a forbidden import, a
// package without a line, a line without a package, unused edges and a
// cycle; the module that matches the graph passes.
func TestCheckGraphReports(t *testing.T) {
	g, err := parseGraph([]byte(sampleDoc))
	if err != nil {
		t.Fatal(err)
	}
	good := func() *module {
		return &module{
			pkgs: map[string]string{"main": ".", "app": "app", "lib": "lib", "leaf": "leaf", "testkit": "testkit"},
			imports: []fileImport{
				{"main.go:3:2", "main", "app", false}, {"main.go:4:2", "main", "lib", false},
				{"app/a.go:3:2", "app", "lib", false}, {"lib/l.go:3:2", "lib", "leaf", false},
				{"testkit/k.go:3:2", "testkit", "lib", false}, {"lib/l_test.go:3:2", "lib", "testkit", true},
				{"leaf/f_test.go:4:2", "leaf", "app", true},
			},
		}
	}
	if msgs := checkGraph(g, good()); len(msgs) != 0 {
		t.Errorf("a module that follows the graph: %q", msgs)
	}
	cases := []struct {
		name   string
		change func(m *module)
		want   string
	}{
		{"upward import", func(m *module) { m.imports = append(m.imports, fileImport{"leaf/f.go:5:2", "leaf", "app", false}) },
			"leaf/f.go:5:2: leaf imports app, which the import graph in docs/DESIGN.md does not allow: if the design allows it, add `leaf → app` to its imports block"},
		{"test helper in product code", func(m *module) { m.imports = append(m.imports, fileImport{"app/b.go:4:2", "app", "testkit", false}) },
			"app/b.go:4:2: app imports testkit, which"},
		{"forbidden in a test", func(m *module) { m.imports = append(m.imports, fileImport{"lib/x_test.go:6:2", "lib", "app", true}) },
			"lib/x_test.go:6:2: lib imports app (in a test), which the import graph in docs/DESIGN.md does not allow: if the design allows it, add `test: lib → app`"},
		{"package without a line", func(m *module) { m.pkgs["newpkg"] = "newpkg" },
			"docs/DESIGN.md: package newpkg (newpkg) has no line in the imports block"},
		{"line without a package", func(m *module) { delete(m.pkgs, "leaf") },
			"docs/DESIGN.md:5: the imports block names leaf, which is not a package of module lopper"},
		{"unused edge", func(m *module) { m.imports = m.imports[1:] },
			"docs/DESIGN.md:4: main → app is allowed, but main does not import app: remove it"},
		{"only a test uses it", func(m *module) { m.imports[0].test = true },
			"docs/DESIGN.md:4: only tests of main import app: make it a `test: main → app` line"},
		{"unused test edge", func(m *module) { m.imports = m.imports[:6] },
			"docs/DESIGN.md:10: test: leaf → app is allowed, but no test makes that import: remove it"},
		{"unused test helper", func(m *module) { m.imports = append(m.imports[:5], m.imports[6]) },
			"docs/DESIGN.md:9: test: * → testkit is allowed, but no test makes that import"},
	}
	for _, c := range cases {
		m := good()
		c.change(m)
		msgs := checkGraph(g, m)
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0], c.want) {
			t.Errorf("%s: %q, want one message starting %q", c.name, msgs, c.want)
		}
	}
	cyclic, err := parseGraph([]byte("```imports\na → b → c\nc → a\n```\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := cyclic.cycle(); c != "a → b → c → a" {
		t.Errorf("cycle %q, want a → b → c → a", c)
	}
}
