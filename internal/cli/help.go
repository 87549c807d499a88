package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// commonFlags are the flags every command has (newFlags); command help
// lists them once, in a line of their own.
var commonFlags = map[string]bool{"log-level": true, "log-format": true}

// usage prints the command list and what every command shares.
func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "lopper %s: prune fine-tuned transformer models with YAML recipes\n\n", version)
	fmt.Fprintf(w, "Usage: lopper COMMAND [arguments] [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-9s %s\n", "help", "show a command's flags and examples: lopper help COMMAND")
	fmt.Fprintf(w, "  %-9s %s\n", "version", "print lopper's version")
	fmt.Fprint(w, `
Start with:  lopper run recipes/quickstart.yaml

Every command takes --log-level (trace, debug, info, warn, error; default
info) and --log-format (text or json); logs go to stderr. Flags may come
before or after arguments.

Exit codes: 0 ok, 1 failed, 2 invalid recipe or usage, 3 an assert gate
failed, 130 interrupted.

Run 'lopper help COMMAND' (or 'lopper COMMAND -h') for a command's flags and
examples.
`)
}

// help is `lopper help [COMMAND]`: the command list, or one command's
// help on stdout.
func (a *app) help(ctx context.Context, args []string) int {
	if len(args) == 0 {
		a.usage(a.stdout)
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintf(a.stderr, "lopper help: want one COMMAND, got %d arguments\n", len(args))
		return exitUsage
	}
	switch args[0] {
	case "help", "version":
		a.usage(a.stdout)
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(a.stderr, "lopper help: unknown command %q\n\n", args[0])
		a.usage(a.stderr)
		return exitUsage
	}
	return c.run(ctx, a, []string{"-h"})
}

// shortUsage is what a usage error prints after saying what is wrong:
// the command's usage line and where its help is.
func (a *app) shortUsage(name string) {
	c, _ := lookup(name) // name is a command's: newFlags(c.name)
	fmt.Fprintf(a.stderr, "Usage: lopper %s %s\nRun 'lopper help %s' for its flags and examples.\n", name, c.args, name)
}

// commandHelp prints the full help of the command whose flag set is fs:
// usage, summary, flags (as --name), the common flags and examples.
func (a *app) commandHelp(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "lopper ")
	c, _ := lookup(name) // fs is a command's: newFlags(c.name)
	fmt.Fprintf(w, "Usage: lopper %s %s\n\n%s\n", name, c.args, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	fmt.Fprintf(w, "\nFlags:\n")
	printFlags(w, fs)
	fmt.Fprintf(w, "\nCommon flags: --log-level LEVEL (trace, debug, info, warn, error; default info), --log-format text|json\n")
	if c.example != "" {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, line := range strings.Split(strings.TrimSpace(c.example), "\n") {
			fmt.Fprintf(w, "  %s\n", strings.TrimSpace(line))
		}
	}
}

// printFlags lists fs's flags, but the common ones, in the spelling the
// README uses: "--name PLACEHOLDER", then the usage and the default when
// it is not the zero value and the usage neither gives it nor says the
// flag is required.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if commonFlags[f.Name] {
			return
		}
		ph, usage := flag.UnquoteUsage(f)
		switch ph {
		case "int", "uint", "int64", "uint64":
			ph = "N"
		case "float":
			ph = "X"
		case "string", "value":
			ph = "VALUE"
		}
		line := "  --" + f.Name
		if ph != "" {
			line += " " + ph
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" && !strings.Contains(usage, "default") && !strings.Contains(usage, "required") {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	})
}
