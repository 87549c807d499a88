package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// NodeError returns an error for a custom yaml.Unmarshaler in a stage config
// that the engine reports at the node's position in the recipe (after
// mapping it back from the strict-decoding pass), e.g.
//
//	func (s *Schedule) UnmarshalYAML(n *yaml.Node) error {
//		if n.Kind != yaml.MappingNode { return pipeline.NodeError(n, "want a mapping") }
//		...
func NodeError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{
		fmt.Sprintf("line %d:%d: %s", n.Line, n.Column, fmt.Sprintf(format, args...)),
	}}
}

func nodeKindName(n *yaml.Node) string {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "boolean"
		}
		return "string"
	}
	return "document"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// pair is one key/value of a YAML mapping.
type pair struct {
	key, value *yaml.Node
}

// mappingPairs returns the pairs of a mapping node in order, with aliases
// resolved and YAML merge keys (`<<: *anchor`) expanded: keys written in the
// mapping itself win over merged ones.
func mappingPairs(n *yaml.Node) []pair {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			var srcs []*yaml.Node
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			} else {
				srcs = []*yaml.Node{v}
			}
			for _, s := range srcs {
				merged = append(merged, mappingPairs(s)...)
			}
			continue
		}
		own = append(own, pair{k, v})
	}
	if len(merged) == 0 {
		return own
	}
	seen := map[string]bool{}
	for _, p := range own {
		seen[p.key.Value] = true
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			own = append(own, p)
		}
	}
	return own
}

// maxNodes bounds a recipe's size with aliases expanded, against alias
// bombs and self-referencing anchors (`a: &x [*x]`).
const maxNodes = 100000

// errTooLarge is returned for documents over maxNodes.
var errTooLarge = errors.New("too many nodes after expanding aliases (limit 100000), or an anchor that contains itself")

// checkSize returns errTooLarge when the tree below n, with aliases and
// merge keys expanded, has more than maxNodes nodes or nests deeper than
// 1000. Every later walk of the recipe is then bounded.
func checkSize(n *yaml.Node) error {
	budget := maxNodes
	var walk func(n *yaml.Node, depth int) bool
	walk = func(n *yaml.Node, depth int) bool {
		if budget--; budget < 0 || depth > 1000 {
			return false
		}
		if n.Kind == yaml.AliasNode {
			return n.Alias == nil || walk(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	if !walk(n, 0) {
		return errTooLarge
	}
	return nil
}

// copyNode deep-copies a node tree with aliases expanded, so that the copy
// can be edited (interpolation) and re-encoded on its own. Positions are kept.
func copyNode(n *yaml.Node) (*yaml.Node, error) {
	budget := maxNodes
	var cp func(n *yaml.Node, depth int) (*yaml.Node, error)
	cp = func(n *yaml.Node, depth int) (*yaml.Node, error) {
		if budget--; budget < 0 || depth > 200 {
			return nil, errTooLarge
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return nil, fmt.Errorf("alias *%s has no anchor", n.Value)
			}
			c, err := cp(n.Alias, depth+1)
			if err != nil {
				return nil, err
			}
			c.Line, c.Column = n.Line, n.Column
			return c, nil
		}
		c := *n
		c.Anchor = ""
		c.HeadComment, c.LineComment, c.FootComment = "", "", ""
		c.Content = nil
		for _, child := range n.Content {
			cc, err := cp(child, depth+1)
			if err != nil {
				return nil, err
			}
			c.Content = append(c.Content, cc)
		}
		return &c, nil
	}
	return cp(n, 0)
}

// lookupPath finds the node at a dotted path ("schedule.to", "targets.2")
// below root. It returns the deepest node found and whether the whole path
// exists. For mapping entries it returns the value node; keyPos is the key
// node of the last mapping entry found (nil at the root).
func lookupPath(root *yaml.Node, path string) (n, key *yaml.Node, found bool) {
	n = resolveAlias(root)
	if path == "" || n == nil {
		return n, nil, n != nil
	}
	for _, part := range strings.Split(path, ".") {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for _, p := range mappingPairs(n) {
				if p.key.Value == part {
					next, key = p.value, p.key
					break
				}
			}
			if next == nil {
				return n, key, false
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n, key, false
			}
			n = resolveAlias(n.Content[i])
		default:
			return n, key, false
		}
	}
	return n, key, true
}
