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
// The load pipeline is: parse (parse.go) → params (params.go) → per stage:
// interpolate the load-time `${{ }}` values, decode `with` strictly and let
// the kind check it (decode.go, checker.go, interp.go) → resolve references
// and build the per-scope DAGs (resolve.go, graph.go) → compile every
// expression against its scope's typed environment (expr.go, env.go).
// Running (runner.go, exec.go, loop.go, matrix.go, assert.go) follows the
// same scopes; the run record (record.go) is written atomically as it goes.
package pipeline
