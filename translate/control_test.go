package translate

import (
	"encoding/json"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// whenOf renders a DAG task's `when` in the DAG scope with Argo's template engine, as the controller does
// before it evaluates the result.
func whenOf(t *testing.T, task wfv1.DAGTask, scope map[string]any) string {
	t.Helper()
	return replaceIn(t, task.When, scope, false)
}

// TestConditionsEvaluateAsKFP: values that contain quotes, spaces or operators are data, never syntax.
func TestConditionsEvaluateAsKFP(t *testing.T) {
	wf := compileFixture(t, "control-flow.yaml", Options{})
	c1, c2, c3 := dagTask(t, wf, "condition-1"), dagTask(t, wf, "condition-2"), dagTask(t, wf, "condition-3")
	for _, tc := range []struct {
		flip, number string
		c1, c2       string
	}{
		{"heads", "7", "true", "false"},
		{"tails", "7", "false", "true"},
		{"tails", "5", "false", "false"},
		{"it's", "6", "false", "true"},
		{"a == b", "10", "false", "true"},
		{"heads' || 'x' == 'x", "0", "false", "false"},
		{"5", "9007199254740993", "false", "true"},
		{"true", "-3", "false", "false"},
		{inert("{{heads}}"), "6", "false", "true"},
		{inert("heads"), "1", "true", "false"},
	} {
		scope := map[string]any{
			"tasks.flip.outputs.parameters.Output":   tc.flip,
			"tasks.number.outputs.parameters.Output": tc.number,
		}
		if got := whenOf(t, c1, scope); got != tc.c1 {
			t.Errorf("flip=%q: condition-1 (== 'heads') = %s, want %s", tc.flip, got, tc.c1)
		}
		if got := whenOf(t, c2, scope); got != tc.c2 {
			t.Errorf("flip=%q number=%s: condition-2 = %s, want %s", tc.flip, tc.number, got, tc.c2)
		}
	}
	for value, want := range map[string]string{"true": "true", "false": "false"} {
		if got := whenOf(t, c3, map[string]any{"workflow.parameters.verbose": value}); got != want {
			t.Errorf("verbose=%s: condition-3 = %s", value, got)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	for cel, want := range map[string]string{
		"inputs.parameter_values['x'] matches 'a.*'": `unexpected "matches"`,
		"size(inputs.parameter_values['x']) > 1":     `unsupported identifier "size"`,
		"inputs.parameter_values['nope'] == 'a'":     `the task has no input "nope"`,
		"inputs.parameter_values['x'] == 'a":         "unterminated string",
	} {
		src := `
components:
  comp-a:
    executorLabel: exec-a
    inputDefinitions: {parameters: {x: {parameterType: STRING}}}
deploymentSpec: {executors: {exec-a: {container: {image: alpine, command: [echo]}}}}
pipelineInfo: {name: cond}
root:
  dag:
    tasks:
      a:
        componentRef: {name: comp-a}
        inputs: {parameters: {x: {componentInputParameter: x}}}
        taskInfo: {name: a}
        triggerPolicy:
          condition: "` + cel + `"
  inputDefinitions: {parameters: {x: {parameterType: STRING}}}
schemaVersion: 2.1.0
`
		p, err := Load("c.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Compile(p, Options{})
		if err == nil || !strings.Contains(err.Error(), `c.yaml: root.dag.tasks["a"].triggerPolicy.condition: `) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cel, err, want)
		}
	}
}

// TestSubPipelineAndRetry: a DAG component becomes a DAG template with inputs and outputs; retry policies map to
// retryStrategy (factor rounded up) and are inherited by the tasks of a sub-pipeline.
func TestSubPipelineAndRetry(t *testing.T) {
	wf := compileFixture(t, "control-flow.yaml", Options{})
	inner := templateNamed(t, wf, "comp-inner")
	if inner.DAG == nil || len(inner.Inputs.Parameters) != 1 || inner.Outputs.Parameters[0].ValueFrom.Parameter != "{{tasks.say-inner.outputs.parameters.Output}}" {
		t.Fatalf("sub-pipeline template: %+v", inner)
	}
	flip := templateNamed(t, wf, dagTask(t, wf, "flip").Template)
	rs := flip.RetryStrategy
	if rs == nil || rs.Limit.IntValue() != 2 || rs.Backoff.Factor.IntValue() != 2 || rs.Backoff.Duration != "1s" || rs.Backoff.MaxDuration != "1m0s" {
		t.Errorf("flip retryStrategy %+v", rs)
	}
	sayInner := templateNamed(t, wf, inner.DAG.Tasks[0].Template)
	if sayInner.RetryStrategy == nil || sayInner.RetryStrategy.Limit.IntValue() != 3 {
		t.Errorf("inherited retry: %+v", sayInner.RetryStrategy)
	}
	if say := templateNamed(t, wf, dagTask(t, wf, "after-inner").Template); say.RetryStrategy != nil {
		t.Errorf("a task without a policy got one: %+v", say.RetryStrategy)
	}
	var refs map[string]TaskRef
	if err := json.Unmarshal([]byte(wf.Annotations[AnnotationTaskNames]), &refs); err != nil {
		t.Fatal(err)
	}
	// Only renamed tasks have entries: "inner" is inner, inner and inner, the run record needs no entry.
	if _, has := refs["inner"]; refs["comp-condition-1/say"].DisplayName != "say heads" || has {
		t.Errorf("task-names annotation: %v", refs)
	}
}

// TestBooleanConditionsAcceptWhatKFPAccepts: a BOOLEAN that reaches a condition in another spelling than the
// canonical one (a container without a command, which no launcher normalises) is read as KFP's launcher reads
// it, with Go's strconv.ParseBool of the trimmed text.
func TestBooleanConditionsAcceptWhatKFPAccepts(t *testing.T) {
	wf := compileFixture(t, "kfp-executor-contract.yaml", Options{})
	cond := dagTask(t, wf, "condition-1")
	for value, want := range map[string]string{
		"true": "true", "True": "true", "TRUE": "true", "t": "true", "T": "true", "1": "true", " True\n": "true",
		"false": "false", "False": "false", "FALSE": "false", "f": "false", "0": "false", "yes": "false",
	} {
		scope := map[string]any{"tasks.flag-file.outputs.parameters.flag": value}
		if got := whenOf(t, cond, scope); got != want {
			t.Errorf("flag %q: when = %s, want %s", value, got, want)
		}
	}
}
