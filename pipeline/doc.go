// Package pipeline is lopper's recipe engine: it loads YAML recipes (schema
// v1), validates them with FILE:LINE:COL problems, compiles their expressions
// (expr-lang) against a typed environment, plans the stage DAG, and runs it
// concurrently, writing a run record.
//
// The engine knows recipes, DAGs, expressions and artifacts, never models.
// Stage kinds are registered by the program into a Registry (see Kind and
// Typed); loop, matrix and assert are engine-level kinds built in. A stage's
// output is a Result: float metrics (what expressions read), artifacts
// (opaque values with a content digest that other stages consume) and details
// (JSON for run.json and reports).
//
// Loading (Load, Parse) goes: parse.go and parse_stages.go (YAML to spec,
// with positions; yamlerr.go and yamlnode.go for YAML details) → params.go
// (typed params, --set) → analyze.go (per stage: load-time `${{ }}` values
// from interp.go, strict decoding of `with` in decode.go, the kind's Check
// through checker.go; loop.go, matrix.go and assert.go for the engine-level
// kinds) → resolve.go (references become dependencies) → dag.go (cycles,
// levels, derived metrics) → compile.go with env.go and expr.go (every
// expression type-checked in its scope). Problems collect in pos.go, with
// did-you-means from suggest.go.
//
// Running (Run, runner.go) executes scopes (exec.go): the top level, each
// loop iteration (loop_run.go) and each matrix branch (matrix_run.go), with
// derived metrics (derived.go) and a run record (record.go) written
// atomically by recorder.go. plan.go and graph.go describe a recipe without
// running it; summary.go condenses a finished run.
//
// Reproducibility: cache.go stores finished stage instances content-
// addressed in a store (package pipeline/store: a local directory or a
// bucket; cache_stage.go computes their keys, cache_files.go digests the
// files they read, cache_runs.go logs each run's entries for cache_gc.go,
// cache_verify.go reads everything back); lock.go writes a recipe's lockfile, status.go and
// status_report.go compare a recipe against it by replaying the run with
// results from the lockfile; resume.go continues an interrupted run in its
// own directory, which a running lopper holds locked (sys_unix.go).
package pipeline
