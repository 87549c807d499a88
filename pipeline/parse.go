package pipeline

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadOptions configure Load and Parse.
type LoadOptions struct {
	// Registry holds the stage kinds; nil means NewRegistry() (engine-level
	// kinds only).
	Registry *Registry
	// Set holds param overrides, "name=value" (the --set flag).
	Set []string
	// WorkDir resolves relative path values given with Set; "" means the
	// process's working directory.
	WorkDir string
}

// Load reads and validates the recipe in file. Problems with the recipe come
// back as a *ValidationError listing every problem found, each at its
// FILE:LINE:COL; an unreadable file is an ordinary error.
func Load(file string, opts LoadOptions) (*Recipe, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, src, opts)
}

// Parse validates a recipe held in memory; file names it in messages and
// sets the directory that relative paths resolve against.
func Parse(file string, src []byte, opts LoadOptions) (*Recipe, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	l := &loader{
		ps:  newProblems(file, src),
		reg: opts.Registry,
		r: &Recipe{
			File: file, Path: abs, Dir: filepath.Dir(abs), Source: src,
			Digest:   fmt.Sprintf("sha256:%x", sha256.Sum256(src)),
			byID:     map[string]*Stage{},
			registry: opts.Registry,
		},
		opts: opts,
	}
	l.load()
	if err := l.ps.err(); err != nil {
		return nil, err
	}
	return l.r, nil
}

// loader carries the state of one Parse.
type loader struct {
	ps   *problems
	reg  *Registry
	r    *Recipe
	opts LoadOptions
	// baselineRef is the top-level `baseline` value with its position.
	baselineRef Ref
	// sites are the outputs of every load-time stage instance.
	sites []*outputSite
}

func (l *loader) pos(n *yaml.Node) Pos { return Pos{File: l.r.File, Line: n.Line, Col: n.Column} }

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.ps.add(l.pos(n), fmt.Sprintf(format, args...))
}

func (l *loader) load() {
	root, ok := l.parseYAML()
	if !ok {
		return
	}
	fields := l.fields(root, "recipe", []string{"version", "name", "description", "params", "baseline", "stages"})
	l.version(root, fields["version"])
	l.r.Name = strings.TrimSuffix(filepath.Base(l.r.File), filepath.Ext(l.r.File))
	if p, ok := fields["name"]; ok {
		if s, ok := l.str(p.value, "name"); ok {
			if !safeName.MatchString(s) {
				l.errorf(p.value, "name %q: use letters, digits, '.', '_' and '-' (it names the run directory)", s)
			}
			l.r.Name = s
		}
	} else if !safeName.MatchString(l.r.Name) {
		l.errorf(root, "the file name %q cannot name runs: add a `name:` of letters, digits, '.', '_' and '-'", l.r.Name)
	}
	if p, ok := fields["description"]; ok {
		l.r.Description, _ = l.str(p.value, "description")
	}
	if p, ok := fields["params"]; ok {
		l.params(p.value)
	}
	l.applySet()
	if p, ok := fields["baseline"]; ok {
		if s, ok := l.str(p.value, "baseline"); ok {
			l.baselineRef = Ref{ID: s, Line: p.value.Line, Col: p.value.Column}
		}
	}
	p, ok := fields["stages"]
	if !ok {
		l.errorf(root, "missing `stages`: a recipe needs at least one stage")
		return
	}
	l.r.top = &scope{byID: map[string]*Stage{}}
	l.r.Stages = l.stages(p.value, nil, l.r.top)
	if v := resolveAlias(p.value); v.Kind == yaml.MappingNode && len(v.Content) == 0 {
		l.errorf(p.value, "`stages` is empty: a recipe needs at least one stage")
	}
	l.analyze()
}

// parseYAML decodes the source into its root mapping node.
func (l *loader) parseYAML() (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(l.r.Source))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.ps.at(0, 0, "empty recipe: want a mapping with `version: 1` and `stages`")
			return nil, false
		}
		line, col, msg := yamlSyntaxError(l.r.Source, err)
		l.ps.at(line, col, "%s", msg)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.ps.at(extra.Line, extra.Column, "a recipe is one YAML document; remove the second document (---)")
	} else if !errors.Is(err, io.EOF) {
		line, col, msg := yamlSyntaxError(l.r.Source, err)
		l.ps.at(line, col, "%s", msg)
		return nil, false
	}
	if len(doc.Content) == 0 {
		l.ps.at(0, 0, "empty recipe: want a mapping with `version: 1` and `stages`")
		return nil, false
	}
	if err := checkSize(&doc); err != nil {
		l.ps.at(0, 0, "YAML: %v", err)
		return nil, false
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		l.errorf(root, "a recipe is a mapping with `version: 1` and `stages`, got a %s", nodeKindName(root))
		return nil, false
	}
	return root, true
}

func (l *loader) version(root *yaml.Node, p pair) {
	if p.value == nil {
		l.errorf(root, "missing `version: %d` (the recipe schema version)", SchemaVersion)
		return
	}
	v := p.value
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		l.errorf(v, "version: want the integer %d, got %s", SchemaVersion, describe(v))
		return
	}
	if v.Value != fmt.Sprint(SchemaVersion) {
		l.errorf(v, "unsupported recipe version %s: this lopper reads version %d", v.Value, SchemaVersion)
	}
}

// fields checks a mapping's keys against the allowed ones (unknown keys get
// a did-you-mean, duplicates point at the first) and returns the pairs by key.
func (l *loader) fields(n *yaml.Node, what string, allowed []string) map[string]pair {
	out := map[string]pair{}
	for _, p := range l.pairs(n, what) {
		if what == "recipe" && strings.HasPrefix(p.key.Value, "x-") {
			continue // extension keys, e.g. to hold YAML anchors
		}
		if !slices.Contains(allowed, p.key.Value) {
			l.errorf(p.key, "unknown key %q in %s%s; want one of %s", p.key.Value, what, didYouMean(p.key.Value, allowed), oneOf(allowed))
			continue
		}
		out[p.key.Value] = p
	}
	return out
}

// pairs returns the pairs of mapping n, reporting non-scalar and duplicate
// keys (which are then left out).
func (l *loader) pairs(n *yaml.Node, what string) []pair {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return nil
	}
	var out []pair
	first := map[string]*yaml.Node{}
	for _, p := range mappingPairs(n) {
		if p.key.Kind != yaml.ScalarNode {
			l.errorf(p.key, "%s: keys must be plain names, got a %s", what, nodeKindName(p.key))
			continue
		}
		if f, dup := first[p.key.Value]; dup {
			l.errorf(p.key, "duplicate key %q in %s (first at line %d)", p.key.Value, what, f.Line)
			continue
		}
		first[p.key.Value] = p.key
		out = append(out, p)
	}
	return out
}

// str returns a scalar string value, reporting anything else.
func (l *loader) str(n *yaml.Node, what string) (string, bool) {
	n = resolveAlias(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, "%s: want a string, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// describe names a node's kind and, for scalars, its value.
func describe(n *yaml.Node) string {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return fmt.Sprintf("%s %q", nodeKindName(n), n.Value)
	}
	return "a " + nodeKindName(n)
}

var (
	identRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// Names with a meaning in expressions; stage ids and params cannot use them.
// Names of expression functions (first, count, len, …) are allowed: a stage
// hides the function in the expressions that can see it.
const (
	idParams    = "params"
	idIteration = "iteration"
	idMatrix    = "matrix"
	idPrev      = "prev"
	idAccDrop   = "acc_drop"
	idPplRatio  = "ppl_ratio"
)

var exprKeywords = []string{"true", "false", "nil", "let", "if", "else", "in", "not", "and", "or",
	"matches", "contains", "startsWith", "endsWith", "env", "$env"}

// reservedName says why id cannot be a stage id or param name, or "".
func reservedName(id string) string {
	switch id {
	case idParams, idIteration, idMatrix, idPrev, idAccDrop, idPplRatio:
		return fmt.Sprintf("%q is reserved in expressions", id)
	}
	if slices.Contains(exprKeywords, id) {
		return fmt.Sprintf("%q is an expression keyword", id)
	}
	return ""
}
