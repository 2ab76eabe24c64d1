package translate

import (
	"encoding/json"
	"fmt"
	"strconv"
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

// conditionPipeline is a pipeline whose tasks t0, t1, ... each run under one of conds, over a pipeline input x
// (STRING), the output y (STRING) of task p, an INTEGER n and STRING constants c ("heads") and k (a constant
// that looks inert). It is compiled and checked with Argo's validator.
func conditionPipeline(t *testing.T, conds []string) *wfv1.Workflow {
	t.Helper()
	str := map[string]any{"parameterType": "STRING"}
	tasks := map[string]any{"p": map[string]any{"componentRef": map[string]any{"name": "comp-p"}, "taskInfo": map[string]any{"name": "p"}}}
	for i, cond := range conds {
		name := fmt.Sprintf("t%d", i)
		tasks[name] = map[string]any{
			"componentRef":   map[string]any{"name": "comp-a"},
			"taskInfo":       map[string]any{"name": name},
			"dependentTasks": []string{"p"},
			"inputs": map[string]any{"parameters": map[string]any{
				"x": map[string]any{"componentInputParameter": "x"},
				"y": map[string]any{"taskOutputParameter": map[string]any{"producerTask": "p", "outputParameterKey": "y"}},
				"n": map[string]any{"componentInputParameter": "n"},
				"c": map[string]any{"runtimeValue": map[string]any{"constant": "heads"}},
				"k": map[string]any{"runtimeValue": map[string]any{"constant": "%%kfpb64:aGVhZHM=%%"}},
			}},
			"triggerPolicy": map[string]any{"condition": cond},
		}
	}
	ir := map[string]any{
		"components": map[string]any{
			"comp-p": map[string]any{"executorLabel": "exec-p", "outputDefinitions": map[string]any{"parameters": map[string]any{"y": str}}},
			"comp-a": map[string]any{"executorLabel": "exec-a", "inputDefinitions": map[string]any{"parameters": map[string]any{
				"x": str, "y": str, "c": str, "k": str, "n": map[string]any{"parameterType": "NUMBER_INTEGER"},
			}}},
		},
		"deploymentSpec": map[string]any{"executors": map[string]any{
			"exec-p": map[string]any{"container": map[string]any{"image": "alpine", "command": []string{"sh", "-c", "echo heads > $0", "{{$.outputs.parameters['y'].output_file}}"}}},
			"exec-a": map[string]any{"container": map[string]any{"image": "alpine", "command": []string{"echo"}}},
		}},
		"pipelineInfo": map[string]any{"name": "cond"},
		"root": map[string]any{
			"dag":              map[string]any{"tasks": tasks},
			"inputDefinitions": map[string]any{"parameters": map[string]any{"x": str, "n": map[string]any{"parameterType": "NUMBER_INTEGER"}}},
		},
		"schemaVersion": "2.1.0",
	}
	src, err := json.Marshal(ir)
	if err != nil {
		t.Fatal(err)
	}
	return compileText(t, string(src), Options{})
}

// TestConditionStringComparisonsSkipDecoding: `==` and `!=` between a STRING input and a literal that no
// encoder's output can equal compare the raw reference (short); every other comparison decodes the value.
func TestConditionStringComparisonsSkipDecoding(t *testing.T) {
	x, y := `workflow.parameters["x"]`, `tasks["p"].outputs.parameters["y"]`
	dec := func(ref string) string {
		return fmt.Sprintf("(%[1]s startsWith '%%%%kfpb64:' ? sprig.b64dec(sprig.trimSuffix('%%%%', sprig.trimPrefix('%%%%kfpb64:', %[1]s))) : %[1]s)", ref)
	}
	cases := []struct{ cel, want string }{
		{`inputs.parameter_values['x'] == 'heads'`, `(` + x + ` == "heads")`},
		{`'heads' != inputs.parameter_values['x']`, `("heads" != ` + x + `)`},
		{`inputs.parameter_values['y'] != "tails"`, `(` + y + ` != "tails")`},
		{`inputs.parameter_values['x'] == 'heads' && inputs.parameter_values['y'] == 'tails'`, `(` + x + ` == "heads") && (` + y + ` == "tails")`},
		{`!(inputs.parameter_values['x'] == 'heads')`, `!((` + x + ` == "heads"))`},
		{`inputs.parameter_values['c'] == 'heads'`, `("heads" == "heads")`},
		// The literal itself needs inert form, or could equal a decoded value that travels inert.
		{`inputs.parameter_values['x'] == '{{x}}'`, `(` + dec(x) + ` == "\u007b\u007bx\u007d\u007d")`},
		{`inputs.parameter_values['x'] == '%%kfpb64:aGVhZHM=%%'`, `(` + dec(x) + ` == "%%kfpb64:aGVhZHM=%%")`},
		{`inputs.parameter_values['x'] == ''`, `(` + dec(x) + ` == "")`},
		{`inputs.parameter_values['x'] != 'a{'`, `(` + dec(x) + ` != "a\u007b")`},
		{"inputs.parameter_values['y'] == 'heads\n'", `(` + dec(y) + ` == "heads\u000a")`},
		{`inputs.parameter_values['x'] == 'a$$b'`, `(` + dec(x) + ` == "a$$b")`},
		{`inputs.parameter_values['x'] == '^a$'`, `(` + dec(x) + ` == "^a$")`},
		// Anything but a STRING input against a string literal keeps the decoded form.
		{`inputs.parameter_values['x'] == inputs.parameter_values['y']`, `(` + dec(x) + ` == ` + dec(y) + `)`},
		{`inputs.parameter_values['x'] < 'm'`, `(` + dec(x) + ` < "m")`},
		{`inputs.parameter_values['x'] >= 'm'`, `(` + dec(x) + ` >= "m")`},
		{`string(inputs.parameter_values['x']) == 'heads'`, `(string(` + dec(x) + `) == "heads")`},
		{`(inputs.parameter_values['x']) == 'heads'`, `((` + dec(x) + `) == "heads")`},
		{`inputs.parameter_values['n'] == 5`, `(int(workflow.parameters["n"]) == 5)`},
		{`inputs.parameter_values['k'] == 'heads'`, `(` + dec(`"%%kfpb64:aGVhZHM=%%"`) + ` == "heads")`},
	}
	conds := make([]string, len(cases))
	for i, tc := range cases {
		conds[i] = tc.cel
	}
	wf := conditionPipeline(t, conds)
	for i, tc := range cases {
		if got, want := dagTask(t, wf, fmt.Sprintf("t%d", i)).When, "{{="+tc.want+"}}"; got != want {
			t.Errorf("%q:\n got %s\nwant %s", tc.cel, got, want)
		}
	}
}

// TestConditionStringComparisonsEvaluateDecoded: evaluated by Argo's template engine, every string comparison
// means what it means for the decoded values, whether they travel plain or inert (as kfp-argo's encoders
// produce them: whole-value inert, the "not given" marker, an output ending in a newline, text ending in "{"
// before an empty placeholder).
func TestConditionStringComparisonsEvaluateDecoded(t *testing.T) {
	values := []string{"heads", "tails", "", "a{", "heads\n", noneValue, inert("{{x}}"), inert("heads {{x}}"),
		inert("%%kfpb64:aGVhZHM=%%"), inertAlways("heads\n"), inertBefore("a{"), "{x}", inert("a$$b"), inert("^a$"),
		inert("$(HOME)"), "a$b"}
	lits := []string{"heads", "tails", "", "a{", "heads\n", "{{x}}", "heads {{x}}", "%%kfpb64:aGVhZHM=%%", "{x}", "a$$b",
		"^a$", "$(HOME)", "a$b"}
	type check struct {
		cel  string
		want func(x, y string) bool
	}
	var checks []check
	for _, lit := range lits {
		quoted := "'" + strings.ReplaceAll(lit, "'", `\'`) + "'"
		checks = append(checks,
			check{"inputs.parameter_values['x'] == " + quoted, func(x, _ string) bool { return x == lit }},
			check{quoted + " != inputs.parameter_values['x']", func(x, _ string) bool { return lit != x }},
			check{"inputs.parameter_values['y'] != " + quoted, func(_, y string) bool { return y != lit }},
		)
	}
	checks = append(checks, check{"inputs.parameter_values['x'] == inputs.parameter_values['y']", func(x, y string) bool { return x == y }})
	conds := make([]string, len(checks))
	for i, c := range checks {
		conds[i] = c.cel
	}
	wf := conditionPipeline(t, conds)
	for _, xv := range values {
		for _, yv := range []string{"heads", inert("{{x}}")} {
			scope := map[string]any{"workflow.parameters.x": xv, "tasks.p.outputs.parameters.y": yv}
			for i, c := range checks {
				want := strconv.FormatBool(c.want(decodeInert(xv), decodeInert(yv)))
				if got := whenOf(t, dagTask(t, wf, fmt.Sprintf("t%d", i)), scope); got != want {
					t.Errorf("x=%q y=%q: %s = %s, want %s", xv, yv, c.cel, got, want)
				}
			}
		}
	}
}
