package cli

import (
	"context"
	"io"
	"os"
	"sync"
	"syscall"
)

// Signals. The first SIGINT or SIGTERM cancels the command's context, and
// lopper exits with 130 at once, wherever the command is (a read of a FIFO
// or of a hung network file system does not see a context), unless the
// command is inside a section it must finish (app.guard.hold: a run being
// recorded, a model being saved, cache entries being removed). Then lopper
// waits for the command, which sees its context cancelled, stops by itself
// and says how it ended with its exit code (130 when it stopped early). A
// second signal exits with 130 at once in any case.

// interruptSignals are the signals that interrupt lopper.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// runInterruptible runs the command line args on a goroutine of its own and
// returns its exit code, or exitInterrupted when signals on sigs stop it as
// described above.
func runInterruptible(sigs <-chan os.Signal, args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{stdout: stdout, stderr: stderr}
	done := make(chan int, 1)
	go func() { done <- a.main(ctx, args) }()
	select {
	case code := <-done:
		return code
	case <-sigs:
	}
	cancel()
	if a.guard.abandon() {
		return exitInterrupted
	}
	select {
	case code := <-done:
		return code
	case <-sigs:
		return exitInterrupted
	}
}

// exitGuard tells runInterruptible whether an interrupt may abandon the
// command. Its zero value guards nothing.
type exitGuard struct {
	mu        sync.Mutex
	held      int
	abandoned bool
}

// hold starts a section that an interrupt must not cut short (writes that
// leave temporary files or a half-updated record when the process exits in
// the middle): from now until release, a first signal waits for the
// command. ok is false when lopper is already exiting; the section must
// then not start.
func (g *exitGuard) hold() (release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.abandoned {
		return nil, false
	}
	g.held++
	return func() {
		g.mu.Lock()
		g.held--
		g.mu.Unlock()
	}, true
}

// abandon reports whether the command holds no section, and then refuses
// every later hold.
func (g *exitGuard) abandon() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.abandoned = g.held == 0
	return g.abandoned
}

// failCode is the exit code of a command that failed with ctx: interrupted
// when ctx was cancelled, else failed.
func failCode(ctx context.Context) int {
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitFailed
}
