package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"lopper/pipeline"
)

// validateCommand is `lopper validate`.
func validateCommand() command {
	return command{
		name:    "validate",
		args:    "RECIPE... [--set NAME=VALUE]",
		summary: "check recipes without running them; every problem as FILE:LINE:COL",
		help:    "Exit codes: 0 all valid, 2 a recipe is invalid or bad usage.",
		example: "lopper validate recipes/*.yaml\nlopper validate recipes/quickstart.yaml --set sparsity=0.9",
		run:     runValidate,
	}
}

func runValidate(_ context.Context, a *app, args []string) int {
	fs := a.newFlags("validate")
	set := setFlag(fs)
	files, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintln(a.stderr, "lopper validate: want at least one RECIPE")
		fs.Usage()
		return exitUsage
	}
	code = exitOK
	for _, f := range files {
		r, c := a.loadRecipe(f, *set)
		if c != exitOK {
			code = c
			continue
		}
		fmt.Fprintf(a.stdout, "%s: ok (%d stages)\n", f, r.Plan().Stages)
	}
	return code
}

// setFlag adds the --set flag of the commands that load recipes.
func setFlag(fs *flag.FlagSet) *stringList {
	set := new(stringList)
	fs.Var(set, "set", "override a param, `NAME=VALUE` (repeatable)")
	return set
}

// oneRecipe parses the flags and the single RECIPE argument of a command.
func (a *app) oneRecipe(fs *flag.FlagSet, args []string) (file string, code int, ok bool) {
	files, code, ok := a.parse(fs, args)
	if !ok {
		return "", code, false
	}
	if len(files) != 1 {
		fmt.Fprintf(a.stderr, "%s: want one RECIPE, got %d arguments\n", fs.Name(), len(files))
		fs.Usage()
		return "", exitUsage, false
	}
	return files[0], exitOK, true
}

// loadRecipe loads and validates a recipe, printing its problems; the code
// is exitOK or exitUsage.
func (a *app) loadRecipe(file string, set []string) (*pipeline.Recipe, int) {
	r, err := pipeline.Load(file, pipeline.LoadOptions{Registry: newRegistry(), Set: set})
	if err != nil {
		var ve *pipeline.ValidationError
		if errors.As(err, &ve) {
			fmt.Fprintln(a.stderr, err)
			fmt.Fprintf(a.stderr, "%s: %d problem%s\n", file, len(ve.Problems), plural(len(ve.Problems)))
		} else {
			fmt.Fprintf(a.stderr, "lopper: %v\n", err)
		}
		return nil, exitUsage
	}
	return r, exitOK
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
