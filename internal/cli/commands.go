package cli

import "context"

// command is one subcommand. run parses its own flags (see newFlags) and
// returns the process exit code.
type command struct {
	name    string
	args    string // usage after the name, e.g. "RECIPE [--set k=v]"
	summary string // one line, for the command list
	help    string // more, for the command's own help (optional)
	example string // example command lines, one per line
	run     func(ctx context.Context, app *app, args []string) int
}

// commands is lopper's command table, in the order `lopper help` lists
// them (by name). Each command is defined in its cmd_NAME.go; a new
// command is added here. help and version are built in (runMain).
func commands() []command {
	return []command{
		cacheCommand(),
		diffCommand(),
		evalCommand(),
		graphCommand(),
		inspectCommand(),
		planCommand(),
		pruneCommand(),
		runCommand(),
		runsCommand(),
		statusCommand(),
		validateCommand(),
		verifyCommand(),
		workerCommand(),
	}
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}
