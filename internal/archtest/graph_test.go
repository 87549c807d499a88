package archtest

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// edge is an import that docs/DESIGN.md's graph allows, or one that a
// file makes: from may import to (in _test.go files only, when test).
type edge struct {
	from, to string
	test     bool
}

// graph is the import graph of docs/DESIGN.md's ```imports block.
type graph struct {
	pkgs  map[string]int // package → the line where it first appears
	allow map[edge]int   // allowed edge → its line
	order []edge         // allowed edges in the order written
}

// pkgName is a package as the block names one: a path in the module, or
// "*" (every package) on the left of a test: line.
var pkgName = regexp.MustCompile(`^(\*|[a-z0-9_.-]+(/[a-z0-9_.-]+)*)$`)

// parseGraph reads the ```imports block of doc (see docs/DESIGN.md for its
// form). Errors name the line (1-based, in doc).
func parseGraph(doc []byte) (*graph, error) {
	g := &graph{pkgs: map[string]int{}, allow: map[edge]int{}}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	n, open, found := 0, false, false
	var errs []string
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if !open {
			if line == "```imports" {
				if found {
					return nil, fmt.Errorf("line %d: a second ```imports block", n)
				}
				open, found = true, true
			}
			continue
		}
		if strings.HasPrefix(line, "```") {
			open = false
			continue
		}
		if err := g.parseLine(n, line); err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", n, err))
		}
	}
	switch {
	case sc.Err() != nil:
		return nil, sc.Err()
	case !found:
		return nil, fmt.Errorf("no ```imports block")
	case open:
		return nil, fmt.Errorf("the ```imports block is not closed")
	case errs != nil:
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return g, nil
}

// parseLine reads one line of the block: [test:] GROUP {→ GROUP}, a GROUP
// being comma-separated package names; # starts a comment.
func (g *graph) parseLine(n int, line string) error {
	line, _, _ = strings.Cut(line, "#")
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	test := false
	if rest, ok := strings.CutPrefix(line, "test:"); ok {
		test, line = true, rest
	}
	steps := strings.Split(strings.ReplaceAll(line, "->", "→"), "→")
	if test && len(steps) < 2 {
		return fmt.Errorf("a test: line needs an edge (test: a → b)")
	}
	groups := make([][]string, len(steps))
	for i, step := range steps {
		for name := range strings.SplitSeq(step, ",") {
			name = strings.TrimSpace(name)
			switch {
			case !pkgName.MatchString(name):
				return fmt.Errorf("%q is not a package name", name)
			case name == "*" && (!test || i > 0):
				return fmt.Errorf("* (every package) may only start a test: line")
			case name != "*":
				if _, ok := g.pkgs[name]; !ok {
					g.pkgs[name] = n
				}
			}
			groups[i] = append(groups[i], name)
		}
	}
	for i := range len(groups) - 1 {
		for _, from := range groups[i] {
			for _, to := range groups[i+1] {
				e := edge{from, to, test}
				if from == to {
					return fmt.Errorf("%s → %s: a package does not import itself", from, to)
				}
				if _, ok := g.allow[e]; !ok {
					g.allow[e] = n
					g.order = append(g.order, e)
				}
			}
		}
	}
	return nil
}

// allows reports whether an import from → to is allowed, in a test file
// when test.
func (g *graph) allows(from, to string, test bool) bool {
	if _, ok := g.allow[edge{from, to, false}]; ok {
		return true
	}
	_, own := g.allow[edge{from, to, true}]
	_, every := g.allow[edge{"*", to, true}]
	return test && (own || every)
}

// cycle returns a cycle among the allowed non-test edges ("a → b → a"), or
// "" when they point one way only.
func (g *graph) cycle() string {
	next := map[string][]string{}
	for _, e := range g.order {
		if !e.test {
			next[e.from] = append(next[e.from], e.to)
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(p string) string
	visit = func(p string) string {
		state[p] = onPath
		path = append(path, p)
		for _, q := range next[p] {
			switch state[q] {
			case onPath:
				i := slices.Index(path, q)
				return strings.Join(append(slices.Clone(path[i:]), q), " → ")
			case unseen:
				if c := visit(q); c != "" {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[p] = done
		return ""
	}
	names := make([]string, 0, len(g.pkgs))
	for p := range g.pkgs {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		if state[p] == unseen {
			if c := visit(p); c != "" {
				return c
			}
		}
	}
	return ""
}
