package pipeline

import (
	"fmt"
	"io"
	"strings"
)

// Graph formats.
const (
	GraphMermaid = "mermaid"
	GraphDot     = "dot"
)

// WriteGraph writes the recipe's DAG in Mermaid (flowchart) or Graphviz
// DOT. Loops and matrices are subgraphs holding their stages; an edge into
// or out of a loop or matrix is a dependency of the whole subgraph, and a
// dashed "prev" edge goes from a loop's carry stage to the stages that read
// prev.
func (r *Recipe) WriteGraph(w io.Writer, format string) error {
	switch format {
	case GraphMermaid:
		return writeMermaid(w, r)
	case GraphDot:
		return writeDot(w, r)
	}
	return fmt.Errorf("unknown graph format %q (want %s or %s)", format, GraphMermaid, GraphDot)
}

// nodeID prefixes stage ids so that ids like "end" or "graph" cannot clash
// with the formats' keywords.
func nodeID(s *Stage) string { return "s_" + s.ID }

func stageLabel(s *Stage) string {
	switch {
	case s.loop != nil:
		l := fmt.Sprintf("%s: loop, up to %d iterations", s.ID, s.loop.max)
		if s.loop.until != nil {
			l += ", until " + s.loop.until.Source
		}
		return l
	case s.matrix != nil:
		return fmt.Sprintf("%s: matrix, %d branches", s.ID, len(s.matrix.branches()))
	}
	return s.ID + " (" + s.Uses + ")"
}

// prevEdges returns carry → reader pairs for a loop's body.
func prevEdges(loop *Stage) [][2]*Stage {
	var out [][2]*Stage
	if loop.loop == nil || loop.loop.carryStage == nil {
		return nil
	}
	var walk func(sc *scope)
	walk = func(sc *scope) {
		for _, s := range sc.stages {
			for _, in := range s.decl.Inputs {
				if in.Ref.ID == idPrev && enclosingLoop(s.scope) == loop {
					out = append(out, [2]*Stage{loop.loop.carryStage, s})
					break
				}
			}
			if s.body != nil && s.loop == nil {
				walk(s.body)
			}
		}
	}
	walk(loop.body)
	return out
}

func writeMermaid(w io.Writer, r *Recipe) error {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	var scopeOut func(sc *scope, indent string)
	scopeOut = func(sc *scope, indent string) {
		for _, s := range sc.stages {
			if s.body != nil {
				fmt.Fprintf(&b, "%ssubgraph %s[\"%s\"]\n", indent, nodeID(s), mermaidText(stageLabel(s)))
				scopeOut(s.body, indent+"  ")
				fmt.Fprintf(&b, "%send\n", indent)
				continue
			}
			fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, nodeID(s), mermaidText(stageLabel(s)))
		}
	}
	scopeOut(r.top, "  ")
	var edges func(sc *scope)
	edges = func(sc *scope) {
		for _, s := range sc.stages {
			for _, d := range s.deps {
				fmt.Fprintf(&b, "  %s --> %s\n", nodeID(d), nodeID(s))
			}
			for _, e := range prevEdges(s) {
				fmt.Fprintf(&b, "  %s -. prev .-> %s\n", nodeID(e[0]), nodeID(e[1]))
			}
			if s.body != nil {
				edges(s.body)
			}
		}
	}
	edges(r.top)
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes a label for a quoted Mermaid node text.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

func writeDot(w io.Writer, r *Recipe) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  compound=true;\n  rankdir=TB;\n  node [shape=box];\n", dotQuote(r.Name))
	var scopeOut func(sc *scope, indent string)
	scopeOut = func(sc *scope, indent string) {
		for _, s := range sc.stages {
			if s.body != nil {
				fmt.Fprintf(&b, "%ssubgraph %s {\n%s  label=%s;\n", indent, dotQuote("cluster_"+s.ID), indent, dotQuote(stageLabel(s)))
				scopeOut(s.body, indent+"  ")
				fmt.Fprintf(&b, "%s}\n", indent)
				continue
			}
			fmt.Fprintf(&b, "%s%s [label=%s];\n", indent, dotQuote(nodeID(s)), dotQuote(stageLabel(s)))
		}
	}
	scopeOut(r.top, "  ")
	var edges func(sc *scope)
	edges = func(sc *scope) {
		for _, s := range sc.stages {
			for _, d := range s.deps {
				var attrs []string
				if d.body != nil {
					attrs = append(attrs, "ltail="+dotQuote("cluster_"+d.ID))
				}
				if s.body != nil {
					attrs = append(attrs, "lhead="+dotQuote("cluster_"+s.ID))
				}
				fmt.Fprintf(&b, "  %s -> %s%s;\n", dotQuote(nodeID(leaf(d))), dotQuote(nodeID(leaf(s))), dotAttrs(attrs))
			}
			for _, e := range prevEdges(s) {
				fmt.Fprintf(&b, "  %s -> %s [style=dashed, label=\"prev\"];\n", dotQuote(nodeID(e[0])), dotQuote(nodeID(e[1])))
			}
			if s.body != nil {
				edges(s.body)
			}
		}
	}
	edges(r.top)
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// leaf returns a stage that is drawn as a node: s itself, or the first node
// inside a loop's or matrix's cluster (DOT edges join nodes, and
// lhead/ltail clip them at the cluster).
func leaf(s *Stage) *Stage {
	for s.body != nil && len(s.body.stages) > 0 {
		s = s.body.stages[0]
	}
	return s
}

func dotAttrs(attrs []string) string {
	if len(attrs) == 0 {
		return ""
	}
	return " [" + strings.Join(attrs, ", ") + "]"
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
