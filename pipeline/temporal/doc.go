// Package temporal is the distributed executor: it runs a recipe on
// Temporal (go.temporal.io/sdk) with the same results, cache and records
// as the local executor (pipeline/runner), whose stage activity and
// record-keeping it reuses.
//
// `lopper run --temporal` validates the recipe locally and calls Run, which
// is runner.RunWith with a Driver: the run directory, run.json, the
// lockfile and the run's outcome are written here by the local executor's
// code, while one run workflow (Workflows.Run) drives the scheduling
// machine of pipeline/sched, each task being a stage activity
// (Activities.Stage, runner.RunTask on a worker) on a task queue: the
// stage's runs_on, else the run's own process for a volatile stage (it
// writes the run directory or reads the run record), else "cpu". Queues
// are named after the build (QueuesOf), so that a run is only ever run and
// replayed by workers of the build that started it. Artifacts travel
// between workers only by reference (kind and digest) through the run's
// store; the stage cache is the same store, so a second run on any worker
// reuses every unchanged stage, and a cache hit reads no artifact.
//
// Workers share no file system with `lopper run`: it uploads the recipe's
// input files to the store (UploadInputs) and workers fetch the ones a
// running stage reads into their own directory (Activities.WorkDir),
// while the cache key keeps the paths and the digests `lopper run` saw;
// what a stage writes into its run directory on a worker comes back to
// the run directory through the store. `lopper run` shows the running
// stages' progress from their heartbeats.
//
// `lopper worker` calls Serve: the run workflow on the build's workflow
// queue and the stage activity on each of its queues. Activities heartbeat
// (who runs them, their progress): a worker that dies is noticed after the
// heartbeat timeout and its stage retried on another. A stage's own
// failure is retried (Plan.Attempts); an invalid config or a failed gate
// never is. Cancelling `lopper run` cancels the workflow, whose stages get
// the grace period to stop.
//
// Histories stay bounded: a loop or matrix whose stages inline would cost
// its workflow more than Plan.ChildEvents history events runs each
// iteration or branch as a child workflow (Workflows.Scope, with a
// machine of its own: sched.NewChild), and a workflow whose history grows
// past Plan.HistoryEvents continues as new, carrying the completions it
// applied (Carry), which its next run feeds the machine again. Records are
// the same as inline. Payloads stay bounded too: one larger than
// Payloads.Threshold travels as a reference to a copy in the run's store
// (Payloads, the data converter's codec), so a run of any number of stage
// instances fits Temporal's 2 MB payload limit.
//
// The workflow is deterministic by construction: the machine has no
// clock (workflow.Now is its Clock), no goroutines and no map-order
// decisions; completions arrive through one workflow channel; the recipe
// is compiled from the plan alone. Its tests run the executors' behaviour
// suite (pipeline/exectest) in the SDK's test environment, the same suite
// the local executor passes.
package temporal
