package translate

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// argsIn resolves a DAG task's arguments in a scope with Argo's template engine.
func argsIn(t *testing.T, task wfv1.DAGTask, scope map[string]any) map[string]string {
	t.Helper()
	args := replaceIn(t, task.Arguments, scope, false)
	values := map[string]string{}
	for _, p := range args.Parameters {
		values[p.Name] = p.Value.String()
	}
	return values
}

func TestLoops(t *testing.T) {
	wf := compileFixture(t, "loops.yaml", Options{})

	// A parallelism limit lives on a wrapper template whose only task fans out over the items.
	outer := dagTask(t, wf, "for-loop-1")
	wrapper := templateNamed(t, wf, outer.Template)
	if wrapper.Parallelism == nil || *wrapper.Parallelism != 2 {
		t.Fatalf("wrapper %s parallelism %v", wrapper.Name, wrapper.Parallelism)
	}
	inner := wrapper.DAG.Tasks[0]
	if inner.Name != "for-loop-1" || inner.WithParam != "{{inputs.parameters."+itemsParameter+"}}" {
		t.Errorf("inner fan-out %+v", inner)
	}
	if got := argsIn(t, outer, nil)[itemsParameter]; got != "[1,2,3]" {
		t.Errorf("items %q", got)
	}
	if got := argsIn(t, inner, map[string]any{"item": "2", "inputs.parameters." + itemsParameter: "[1,2,3]"})["pipelinechannel--loop-item-param-1"]; got != "2" {
		t.Errorf("item reaches the body as %q", got)
	}

	// dsl.Collected: Argo aggregates the iterations' outputs as strings; the consumer gets integers.
	total := dagTask(t, wf, "total")
	for agg, want := range map[string]string{`["1","4","9"]`: "[1,4,9]", `["9007199254740993"]`: "[9007199254740993]", `[]`: "[]", `["1","` + noneValue + `","9"]`: "[1,9]"} {
		got := argsIn(t, total, map[string]any{"tasks.for-loop-1.outputs.parameters.pipelinechannel--square-Output": agg})["numbers"]
		if got != want {
			t.Errorf("collected %s arrives as %s, want %s", agg, got, want)
		}
	}

	// A loop over a task's output list; sub-fields of struct items keep their canonical forms.
	loop2 := dagTask(t, wf, "for-loop-2")
	if loop2.WithParam != "{{tasks.make-list.outputs.parameters.Output}}" {
		t.Errorf("for-loop-2 withParam %q", loop2.WithParam)
	}
	body := templateNamed(t, wf, loop2.Template)
	var show wfv1.DAGTask
	for _, task := range body.DAG.Tasks {
		if task.Name == "show" {
			show = task
		}
	}
	got := argsIn(t, show, map[string]any{"inputs.parameters.pipelinechannel--make-list-Output-loop-item": `{"a": "it's \"q\"", "b": 12345678901}`})
	if got["a"] != `it's "q"` || got["b"] != "12345678901" {
		t.Errorf("selected sub-fields %v", got)
	}
	// The nested loop iterates over its own literal items.
	for _, task := range body.DAG.Tasks {
		if task.Name == "for-loop-3" && len(task.WithItems) != 2 {
			t.Errorf("nested loop items %v", task.WithItems)
		}
	}
}
