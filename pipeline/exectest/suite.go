// Package exectest is the behaviour suite of recipe executors: the
// scheduling rules (dependencies, when, loops, matrices, gates, failure
// isolation, --fail-fast, --jobs, interrupts), the stage cache and
// --resume, checked through the records a run produces. Every executor
// runs it by implementing Executor: the local one (Local, pipeline/runner)
// and, so that the two cannot disagree, a distributed one. The recipes use
// the test kinds of pipeline/pipelinetest, registered in the recipe's
// Registry, so the executor must run them in this process (a workflow
// test environment with in-process workers does).
//
// Only tests import it.
package exectest

import (
	"context"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// Executor runs compiled recipes.
type Executor interface {
	// Run runs r with opts and returns its final record, as runner.Run
	// does: stage failures, failed gates and interrupts (ctx cancelled)
	// are in the record's status; the error is for runs that could not be
	// set up or recorded. An executor maps opts onto its own: Jobs,
	// FailFast, Grace, OutDir or RunDir (where the record is written),
	// Cache, Build, Numerics and Resumed must mean what they mean locally.
	Run(ctx context.Context, r *pipeline.Recipe, opts runner.Options) (*pipeline.RunRecord, error)
}

// Local is the local executor, runner.Run.
type Local struct{}

// Run implements Executor.
func (Local) Run(ctx context.Context, r *pipeline.Recipe, opts runner.Options) (*pipeline.RunRecord, error) {
	return runner.Run(ctx, r, opts)
}

// behaviours are the suite's tests, by name.
var behaviours = []struct {
	name string
	test func(*testing.T, Executor)
}{
	{"IndependentStagesOverlap", testIndependentStagesOverlap},
	{"JobsOneSerialises", testJobsOneSerialises},
	{"FailureCancelsOnlyDependents", testFailureCancelsOnlyDependents},
	{"FailFastCancelsEverything", testFailFastCancelsEverything},
	{"CancellationInterruptsRun", testCancellationInterruptsRun},
	{"CancellationGracePeriod", testCancellationGracePeriod},
	{"CancelledBeforeStart", testCancelledBeforeStart},
	{"PanicBecomesStageError", testPanicBecomesStageError},
	{"WhenSkips", testWhenSkips},
	{"StagesNamedLikeFunctionsRun", testStagesNamedLikeFunctionsRun},
	{"LoopUntilStopsAndKeepsLastPassing", testLoopUntilStopsAndKeepsLastPassing},
	{"LoopKeepLast", testLoopKeepLast},
	{"LoopMaxIterationsBounds", testLoopMaxIterationsBounds},
	{"LoopNoPassingIterationFails", testLoopNoPassingIterationFails},
	{"LoopBodyFailure", testLoopBodyFailure},
	{"LoopWithoutUntil", testLoopWithoutUntil},
	{"MatrixCartesianProduct", testMatrixCartesianProduct},
	{"MatrixBranchFailure", testMatrixBranchFailure},
	{"AssertGate", testAssertGate},
	{"StageFailureOutranksGate", testStageFailureOutranksGate},
	{"Nesting", testNesting},
	{"CacheRerunReusesEveryStage", testCacheRerunReusesEveryStage},
	{"CacheParamChangeRerunsOnlyDownstream", testCacheParamChangeRerunsOnlyDownstream},
	{"ResumeContinuesAFailedRunInItsLoop", testResumeContinuesAFailedRunInItsLoop},
}

// Run runs every behaviour against ex, each as a subtest named after it.
func Run(t *testing.T, ex Executor) {
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) { b.test(t, ex) })
	}
}
