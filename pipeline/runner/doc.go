// Package runner is the local executor of compiled recipes: Run drives the
// scheduling machine of pipeline/sched from one goroutine and runs each
// task it asks for (one instance of a registered stage kind) on a
// goroutine of its own, with --jobs slots, the stage cache, a grace period
// after an interrupt and the run record written as the run goes
// (run.json, atomically).
//
// A task is run by the stage activity (RunTask): the config interpolated
// and checked (pipeline.Recipe.Instantiate), its cache key (cache_stage.go)
// and cache lookup, Kind.Run with a panic turned into the stage's error, the
// result held to its declaration, and the cache store. Its input and output
// are data (StageTask, StageOutcome: artifacts by kind and digest), so a
// distributed executor runs the same function on its workers, with a
// TaskEnv that reads and writes artifacts in the shared store.
//
// It also keeps what a run leaves behind and reads back: the recipe's
// lockfile (lock.go), Status (the run replayed through the same machine
// with results from the lockfile, status.go and status_report.go),
// --resume (resume.go) and the files a run may write (CheckOutputFile,
// outputs.go). Its behaviours are pipeline/exectest's suite.
package runner
