package temporal

import (
	"context"
	"errors"
	"fmt"

	sdktemporal "go.temporal.io/sdk/temporal"

	"lopper/pipeline/runner"
)

// outcomeOf is a stage activity's outcome: its result, or what its
// failure carries (the outcome the activity attached, or what Temporal
// says happened: cancelled, timed out, lost).
func outcomeOf(err error, out *runner.StageOutcome) *runner.StageOutcome {
	if err == nil {
		return out
	}
	var app *sdktemporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		var o runner.StageOutcome
		if app.Details(&o) == nil && o.Error != "" {
			return &o
		}
	}
	o := &runner.StageOutcome{Class: runner.ClassTransient, Error: err.Error()}
	var canceled *sdktemporal.CanceledError
	var timeout *sdktemporal.TimeoutError
	var act *sdktemporal.ActivityError
	switch {
	case errors.As(err, &canceled):
		var d runner.StageOutcome
		if canceled.HasDetails() && canceled.Details(&d) == nil {
			o = &d
		}
		o.Class, o.Error = runner.ClassCancelled, context.Canceled.Error()
	case errors.As(err, &timeout):
		o.Error = fmt.Sprintf("the stage timed out (%s): its worker died or stopped answering", timeout.TimeoutType())
		var hb Heartbeat
		if timeout.HasLastHeartbeatDetails() && timeout.LastHeartbeatDetails(&hb) == nil {
			o.Worker, o.Attempt = hb.Worker, hb.Attempt
		}
	case app != nil:
		o.Error = app.Message()
	case errors.As(err, &act) && errors.Unwrap(act) != nil:
		o.Error = errors.Unwrap(act).Error()
	}
	return o
}
