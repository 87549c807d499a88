package temporal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"lopper/pipeline/exectest"
	"lopper/pipeline/pipelinetest"
)

// Histories recorded on a dev server (set LOPPER_RECORD_HISTORY=1 when
// running TestRunOnDevServer* to rewrite them), replayed by
// TestReplayRecordedHistory: a run workflow's, and with children and
// continue-as-new the last run of the run workflow and a child's.
const (
	historyFile       = "testdata/run_history.json"
	childrenHistory   = "testdata/run_children_history.json"      // the first run: children, continue-as-new
	childrenLast      = "testdata/run_children_last_history.json" // the last run: the carried state
	childScopeHistory = "testdata/scope_history.json"             // a branch's first run
)

// recordHistory writes the history of the first or the latest run of the
// workflow of type wfType whose id ends with suffix to file.
func recordHistory(t *testing.T, c client.Client, wfType, suffix string, first bool, file string) {
	ctx := context.Background()
	list, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = '" + wfType + "'"})
	if err != nil {
		t.Fatalf("list the %s workflows: %v", wfType, err)
	}
	var pick *workflowpb.WorkflowExecutionInfo
	for _, ex := range list.Executions {
		if !strings.HasSuffix(ex.Execution.WorkflowId, suffix) {
			continue
		}
		if later := pick == nil || ex.StartTime.AsTime().After(pick.StartTime.AsTime()); later != first || pick == nil {
			pick = ex
		}
	}
	if pick == nil {
		t.Fatalf("no %s workflow whose id ends with %q", wfType, suffix)
	}
	it := c.GetWorkflowHistory(ctx, pick.Execution.WorkflowId, pick.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d events", file, len(h.Events))
}

// The recorded history of a run workflow replays on today's workflow code:
// a change that makes the workflow schedule differently (and so would
// break every run in flight) fails here. A workflow that does one thing
// differently fails to replay: the check can fail.
func TestReplayRecordedHistory(t *testing.T) {
	wf := &Workflows{Registry: exectest.Registry(pipelinetest.New())}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(wf.Run, workflow.RegisterOptions{Name: WorkflowRun})
	replayer.RegisterWorkflowWithOptions(wf.Scope, workflow.RegisterOptions{Name: WorkflowScope})
	for _, f := range []string{historyFile, childrenHistory, childrenLast, childScopeHistory} {
		if err := replayFile(replayer, f); err != nil {
			t.Errorf("the recorded %s does not replay: %v", f, err)
		}
	}
	changed := worker.NewWorkflowReplayer()
	changed.RegisterWorkflowWithOptions(func(ctx workflow.Context, plan Plan) (*Result, error) {
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return nil, err
		}
		return wf.Run(ctx, plan)
	}, workflow.RegisterOptions{Name: WorkflowRun})
	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) // the failure is expected
	if err := changed.ReplayWorkflowHistoryFromJSONFile(quiet, historyFile); err == nil {
		t.Errorf("a workflow that starts with a timer replayed the recorded history")
	}
}

// replayFile replays a recorded history as the workflow it was: children
// are named after the run workflow's id (ScopeTask.Root, in the input of
// the first child it started).
func replayFile(r worker.WorkflowReplayer, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var opts worker.ReplayWorkflowHistoryOptions
	for _, e := range h.Events {
		if a := e.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			var st ScopeTask
			if err := converter.GetDefaultDataConverter().FromPayloads(a.Input, &st); err != nil {
				return fmt.Errorf("%s: a child's input: %w", file, err)
			}
			opts.OriginalExecution.ID = st.Root
			break
		}
	}
	return r.ReplayWorkflowHistoryWithOptions(nil, h, opts)
}
