// Package cli is lopper's command line: the command table (commands.go),
// one cmd_NAME.go per command, the help (help.go), the common flags, the
// root logger and the exit codes. Package main only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/stages"
)

// Exit codes: a contract with scripts and CI.
const (
	exitOK          = 0   // success
	exitFailed      = 1   // a stage or command failed
	exitUsage       = 2   // invalid recipe, flags or arguments
	exitGate        = 3   // an assert gate failed
	exitInterrupted = 130 // SIGINT or SIGTERM
)

// version is lopper's version, recorded in run records and cache keys.
// Release builds set it with -ldflags "-X lopper/internal/cli.version=…".
var version = "0.1.0-dev"

// buildID is pipeline.BuildID of this program, computed once.
var buildID = sync.OnceValue(func() string { return pipeline.BuildID(version) })

// defaultRegistry returns the stage kinds the program knows: the
// engine-level loop, matrix and assert, plus lopper's stage kinds and
// artifact codecs (stages.Register).
func defaultRegistry() *pipeline.Registry {
	reg := pipeline.NewRegistry()
	stages.Register(reg)
	return reg
}

// newRegistry is the registry the commands use; tests replace it to add
// test-only kinds.
var newRegistry = defaultRegistry

// app is what every command shares: the output streams and the root logger,
// configured by the common flags.
type app struct {
	stdout, stderr io.Writer
	log            hclog.Logger
	logLevel       string
	logFormat      string
	guard          exitGuard
}

// Main runs lopper with the command line args (without the program name)
// and returns the process's exit code. The first SIGINT or SIGTERM cancels
// the command and exits 130 (signals.go says when lopper first finishes
// what must not be cut short); a second exits at once.
func Main(args []string, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, interruptSignals...)
	return runInterruptible(sigs, args, stdout, stderr)
}

// runMain runs the command line args and returns the exit code.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&app{stdout: stdout, stderr: stderr}).main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	switch {
	case len(args) == 0:
		a.usage(stderr)
		return exitUsage
	case args[0] == "-h" || args[0] == "--help":
		a.usage(stdout)
		return exitOK
	case args[0] == "help":
		return a.help(ctx, args[1:])
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintf(stdout, "lopper %s\n", version)
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "lopper: unknown command %q\n\n", args[0])
		a.usage(stderr)
		return exitUsage
	}
	return a.runCommand(ctx, c, args[1:])
}

// runCommand runs c. A panic in it, or one that a worker pool re-raised in
// it, is reported with its stack on stderr and exit code 1 (a crash would
// show where the pool re-raised it, and exit with 2, the usage code).
func (a *app) runCommand(ctx context.Context, c command, args []string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			msg, stack := fmt.Sprintf("panic: %v", v), debug.Stack()
			if p, ok := v.(interface {
				error
				PanicStack() []byte
			}); ok {
				msg, stack = p.Error(), p.PanicStack()
			}
			fmt.Fprintf(a.stderr, "lopper %s: %s\n\n%s", c.name, msg, stack)
			code = exitFailed
		}
	}()
	return c.run(ctx, a, args)
}

// newFlags returns a flag set for command c with the common logging flags.
// Its Usage prints the command's short usage and where to find more (for
// usage errors); -h prints the full help to stdout (see parse).
func (a *app) newFlags(c string) *flag.FlagSet {
	fs := flag.NewFlagSet("lopper "+c, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	fs.Usage = func() { a.shortUsage(c) }
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments, sets up the root logger, and returns the positional arguments.
// It returns ok=false with the exit code to use when parsing stopped (bad
// flag, or -h, which prints the command's help to stdout).
func (a *app) parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	usage := fs.Usage
	fs.Usage = func() {} // -h prints the full help below, a bad flag the short usage
	defer func() { fs.Usage = usage }()
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				a.commandHelp(a.stdout, fs)
				return nil, exitOK, false
			}
			usage()
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	level := hclog.LevelFromString(a.logLevel)
	if level == hclog.NoLevel {
		fmt.Fprintf(a.stderr, "lopper: unknown --log-level %q (want trace, debug, info, warn or error)\n", a.logLevel)
		return nil, exitUsage, false
	}
	if a.logFormat != "text" && a.logFormat != "json" {
		fmt.Fprintf(a.stderr, "lopper: unknown --log-format %q (want text or json)\n", a.logFormat)
		return nil, exitUsage, false
	}
	a.log = hclog.New(&hclog.LoggerOptions{
		Name:       "lopper",
		Level:      level,
		Output:     a.stderr,
		JSONFormat: a.logFormat == "json",
	})
	return pos, exitOK, true
}

// stringList is a repeatable string flag (e.g. --set k=v --set k2=v2).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
