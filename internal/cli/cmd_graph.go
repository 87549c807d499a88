package cli

import (
	"context"
	"fmt"

	"lopper/pipeline"
)

// graphCommand is `lopper graph`.
func graphCommand() command {
	return command{
		name:    "graph",
		args:    "RECIPE [--format mermaid|dot] [--set NAME=VALUE]",
		summary: "print the stage DAG (loops and matrices as subgraphs) as Mermaid or Graphviz DOT",
		example: "lopper graph recipes/gradual-magnitude.yaml\nlopper graph recipes/sweep.yaml --format dot | dot -Tsvg > sweep.svg",
		run:     runGraph,
	}
}

func runGraph(_ context.Context, a *app, args []string) int {
	fs := a.newFlags("graph")
	set := setFlag(fs)
	format := fs.String("format", pipeline.GraphMermaid, "output `FORMAT`: mermaid or dot")
	file, code, ok := a.oneRecipe(fs, args)
	if !ok {
		return code
	}
	if *format != pipeline.GraphMermaid && *format != pipeline.GraphDot {
		fmt.Fprintf(a.stderr, "lopper graph: unknown --format %q (want mermaid or dot)\n", *format)
		return exitUsage
	}
	r, code := a.loadRecipe(file, *set)
	if code != exitOK {
		return code
	}
	if err := r.WriteGraph(a.stdout, *format); err != nil {
		fmt.Fprintf(a.stderr, "lopper graph: %v\n", err)
		return exitFailed
	}
	return exitOK
}
