package translate

import (
	"encoding/json"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// hookArgs resolves an exit hook's arguments the way Argo does for a finished task: the scope has the task's
// status and whatever outputs it left.
func hookArgs(t *testing.T, hook wfv1.LifecycleHook, scope map[string]any) wfv1.Arguments {
	t.Helper()
	return replaceIn(t, hook.Arguments, scope, true)
}

// TestExitHandler: the exit task is an Argo exit hook of the body, so it runs however the body ended while the
// body keeps its phase (Argo's DAG phase comes from its leaf tasks: a failed body fails the run even when the
// hook succeeds); it receives the PipelineTaskFinalStatus; a hook reading a failed producer's output sees it
// absent.
func TestExitHandler(t *testing.T) {
	wf := compileFixture(t, "exit-handler.yaml", Options{})
	root := templateNamed(t, wf, wf.Spec.Entrypoint)
	if len(root.DAG.Tasks) != 2 {
		t.Fatalf("exit tasks must not be DAG tasks of their own (they would become leaves that decide the DAG's phase): %d tasks", len(root.DAG.Tasks))
	}
	body := dagTask(t, wf, "exit-handler-1")
	hook, ok := body.Hooks[wfv1.ExitLifecycleEvent]
	if !ok || hook.Template != "comp-report" {
		t.Fatalf("exit-handler-1 hooks: %+v", body.Hooks)
	}
	for phase, want := range map[string]map[string]any{
		"Failed":    {"state": "FAILED", "pipelineTaskName": "exit-handler-1", "pipelineJobResourceName": wfName},
		"Succeeded": {"state": "SUCCEEDED", "pipelineTaskName": "exit-handler-1"},
		"Error":     {"state": "FAILED"},
		"Omitted":   {"state": "SKIPPED"},
	} {
		args := hookArgs(t, hook, map[string]any{"tasks.exit-handler-1.status": phase, "workflow.name": wfName})
		var status map[string]any
		if err := json.Unmarshal([]byte(args.Parameters[0].Value.String()), &status); err != nil {
			t.Fatalf("%s: status %q: %v", phase, args.Parameters[0].Value.String(), err)
		}
		for k, v := range want {
			if status[k] != v {
				t.Errorf("%s: status[%s] = %v, want %v", phase, k, status[k], v)
			}
		}
		if e, _ := status["error"].(map[string]any); (phase == "Succeeded") != (e["message"] == "") {
			t.Errorf("%s: error %v", phase, e)
		}
	}

	producer := dagTask(t, wf, "producer")
	print := producer.Hooks[wfv1.ExitLifecycleEvent]
	failed := hookArgs(t, print, map[string]any{"tasks.producer.status": "Failed", "tasks.producer.id": "x"})
	if got := failed.Parameters[0].Value.String(); got != noneValue {
		t.Errorf("output of a failed producer: %q, want it not given", got)
	}
	ok2 := hookArgs(t, print, map[string]any{"tasks.producer.status": "Succeeded", "tasks.producer.outputs.parameters.Output": "hello"})
	if got := ok2.Parameters[0].Value.String(); got != "hello" {
		t.Errorf("output of a succeeded producer: %q", got)
	}
	var refs map[string]TaskRef
	_ = json.Unmarshal([]byte(wf.Annotations[AnnotationTaskNames]), &refs)
	if refs["exit-handler-1.onExit"].Task != "report" || refs["producer.onExit"].Task != "print" {
		t.Errorf("hooks in the task-names annotation: %v", refs)
	}
}
