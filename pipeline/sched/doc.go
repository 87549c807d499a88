// Package sched is the scheduling semantics of a recipe run, written once
// for every executor: a deterministic, event-driven state machine over a
// compiled recipe (pipeline.Recipe).
//
// A Machine decides what runs and what each stage's outcome is: needs and
// inferred dependencies, `when` and skips, loops (until, keep,
// max_iterations), matrix fan-out, assert gates, failure isolation or
// --fail-fast, cancellation, the --jobs bound, derived metrics, and the run
// record's stage tree (statuses, reasons, iterations, branches, results),
// and how long results' artifacts stay reachable and which task may take
// an input it is the last reader of (lifetime.go).
// It does no work itself: it hands the executor Tasks (one instance of a
// registered stage kind to run, with the values and inputs in scope) and
// learns their outcomes from Completed events. What a task does (the
// config's interpolation and checks, the cache lookup, Run, the cache
// store) is the stage activity, the same steps in every executor
// (pipeline/runner's RunTask).
//
// The machine is single-threaded and replayable: no goroutines, channels,
// clocks (record times come from Options.Clock), randomness or I/O, and no
// decision depends on map iteration order; the same events in the same
// order give the same actions and the same records. The local executor
// (pipeline/runner) drives it from one goroutine and runs tasks on others;
// a workflow engine (Temporal) can drive it from workflow code, tasks
// being activities.
//
//	m := sched.New(recipe, params, opts)
//	acts := m.Start()
//	for !m.Done() {
//		// start acts.Start, cancel the running tasks when acts.CancelRunning,
//		// then wait for one to finish (or for an interrupt):
//		acts = m.Apply(sched.Completed{Task: id, Result: res, Cached: hit, Err: err})
//	}
//	rec.Stages = m.Records()
//
// An executor whose history is bounded (a Temporal workflow) can hand
// whole loop iterations and matrix branches to machines of their own
// (Options.Delegate, NewChild): such a scope becomes one Task with Child
// set, carrying what it sees of the run around it (Env), and its child
// machine's records and results come back as one ChildCompleted event. The
// records are those the scope would have had inline.
package sched
