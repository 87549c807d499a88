package cli

import (
	"context"
	"encoding/json"
	"fmt"
)

// planCommand is `lopper plan`.
func planCommand() command {
	return command{
		name:    "plan",
		args:    "RECIPE [--set NAME=VALUE] [--format text|json]",
		summary: "show the resolved params, the stages' parallel levels and their memory estimates, without running",
		example: "lopper plan recipes/gradual-magnitude.yaml\nlopper plan recipes/sweep.yaml --set model=path/to/model --format json",
		run:     runPlan,
	}
}

func runPlan(_ context.Context, a *app, args []string) int {
	fs := a.newFlags("plan")
	set := setFlag(fs)
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	file, code, ok := a.oneRecipe(fs, args)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(a.stderr, "lopper plan: unknown --format %q (want text or json)\n", *format)
		return exitUsage
	}
	r, code := a.loadRecipe(file, *set)
	if code != exitOK {
		return code
	}
	p := r.Plan()
	r.EstimateMemory(p)
	var err error
	if *format == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(p)
	} else {
		err = p.WriteText(a.stdout)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "lopper plan: %v\n", err)
		return exitFailed
	}
	return exitOK
}
