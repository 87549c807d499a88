// Package stages holds lopper's stage kinds — load, score, prune, retrain,
// evaluate, verify, save, report — as thin adapters from the recipe engine
// (package pipeline) to packages model, pruning, train, eval and report, one
// file per kind; and exec, which runs any other program as a stage (see
// exec.go). It also holds the artifacts they pass between them (a model, a
// set of scores) with their codecs. Register adds them all to a
// pipeline.Registry.
//
// Artifacts are shared: a stage that only reads a model uses the artifact's
// *model.Model as it is, and a stage that changes one works on a Clone.
// In a lazy run (WithLazyModels) models stay in their checkpoints and
// their readers pin what they read (see lazy.go).
//
// Paths in a stage's with block are relative to the recipe's directory,
// except save's path, which is relative to the run directory (see save.go),
// and exec's outputs and metrics, inside the stage's work directory.
package stages
