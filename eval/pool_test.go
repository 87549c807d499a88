package eval

import (
	"context"
	"errors"
	"strings"
	"testing"

	"lopper/internal/par"
)

// A panic in a job, in making a runner or in the progress callback fails
// the evaluation with an error that carries the panic's value and stack;
// it does not kill the process (errgroup does not recover).
func TestForEachJobTurnsPanicsIntoErrors(t *testing.T) {
	noRunner := func() (runner, error) { return nil, nil }
	ok := func(runner, int) error { return nil }
	one := func(int) int { return 1 }
	cases := map[string]struct {
		newRunner func() (runner, error)
		job       func(runner, int) error
		progress  ProgressFunc
	}{
		"job": {noRunner, func(_ runner, i int) error {
			if i == 37 {
				poolPanic()
			}
			return nil
		}, nil},
		"runner":   {func() (runner, error) { poolPanic(); return nil, nil }, ok, nil},
		"progress": {noRunner, ok, func(done, _ int) { poolPanic() }},
	}
	for name, c := range cases {
		err := forEachJob(context.Background(), 100, 4, c.newRunner, c.job, one, 100, c.progress)
		var pe *par.Panic
		if !errors.As(err, &pe) || err.Error() != "panic: boom" {
			t.Errorf("%s panicked: err %v (%T), want a *par.Panic", name, err, err)
			continue
		}
		if !strings.Contains(string(pe.Stack), "eval.poolPanic") {
			t.Errorf("%s panicked: the stack does not show where:\n%s", name, pe.Stack)
		}
	}
}

//go:noinline
func poolPanic() { panic("boom") }
