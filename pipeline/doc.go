// Package pipeline is lopper's recipe compiler and the vocabulary of its
// stage kinds: it loads YAML recipes (schema v1), validates them with
// FILE:LINE:COL problems, compiles their expressions (expr-lang) against a
// typed environment and plans the stage DAG, giving a Recipe that
// executors run. Running is elsewhere: pipeline/sched decides what runs
// (the scheduling semantics, a deterministic state machine) and
// pipeline/runner runs it on this machine.
//
// The engine knows recipes, DAGs, expressions and artifacts, never models.
// Stage kinds are registered by the program into a Registry (see Kind and
// Typed); loop, matrix and assert are engine-level kinds built in. A stage's
// output is a Result: float metrics (what expressions read), artifacts
// (opaque values with a content digest that other stages consume) and details
// (JSON for run.json and reports). A running stage sees the run through its
// StageContext, whose StageHost the executor provides; a stage that is its
// input's last reader may take it and change it in place (take.go).
//
// Loading (Load, Parse) goes: parse.go and parse_stages.go (YAML to spec,
// with positions; yamlerr.go and yamlnode.go for YAML details) → params.go
// (typed params, --set) → analyze.go (per stage: load-time `${{ }}` values
// from interp.go, strict decoding of `with` in decode.go, the kind's Check
// through checker.go; loop.go, matrix.go and assert.go for the engine-level
// kinds) → resolve.go (references become dependencies) → dag.go (cycles,
// levels, derived metrics) → compile.go with env.go and expr.go (every
// expression type-checked in its scope). Problems collect in pos.go, with
// did-you-means from suggest.go. plan.go and graph.go describe a recipe
// without running it.
//
// What executors read from a compiled recipe is in compiled.go: each
// stage's dependencies, its loop, matrix or assert spec, the values its
// expressions read (Values) and, per run of it, its checked config and
// declaration (Recipe.Instantiate, which also checks its outputs against
// the run's directories, output_check.go).
//
// Shared by every executor: the run record's types (record.go) and its
// summary (summary.go); the stage cache (cache.go stores finished stage
// instances content-addressed in a store, package pipeline/store: a local
// directory or a bucket; cache_files.go digests the files they read,
// cache_runs.go logs each run's entries for cache_gc.go, cache_verify.go
// reads everything back; cache_api.go is what executors call) and artifact files (artifact_store.go); the lock a
// running lopper holds on its run directory (runlock.go, sys_unix.go).
package pipeline
