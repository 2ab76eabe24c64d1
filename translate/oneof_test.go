package translate

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/expr/env"
	"github.com/expr-lang/expr"
)

// TestOneOf evaluates the DAG output expressions the way Argo's controller does (expr-lang with Argo's
// function map over the DAG's scope): the branch that ran wins, whether the skipped branch's outputs are
// absent (Argo >= 3.7.16) or empty strings (older).
func TestOneOf(t *testing.T) {
	wf := compileFixture(t, "oneof.yaml", Options{})
	branches := templateNamed(t, wf, "comp-condition-branches-1")
	var param, meta string
	for _, p := range branches.Outputs.Parameters {
		switch p.Name {
		case "pipelinechannel--condition-branches-1-oneof-1":
			param = p.ValueFrom.Expression
		case MetadataParameterPrefix + "pipelinechannel--condition-branches-1-oneof-2":
			meta = p.ValueFrom.Expression
		}
	}
	art := branches.Outputs.Artifacts[0].FromExpression
	if param == "" || meta == "" || art == "" {
		t.Fatalf("OneOf outputs: %+v", branches.Outputs)
	}
	eval := func(e string, scope map[string]any) any {
		t.Helper()
		fm := env.GetFuncMap(scope)
		prog, err := expr.Compile(e, expr.Env(fm))
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		v, err := expr.Run(prog, fm)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		return v
	}
	heads := wfv1.Artifact{Name: "heads-data"}
	tails := wfv1.Artifact{Name: "tails-data"}
	for name, tc := range map[string]struct {
		scope map[string]any
		want  string
	}{
		"heads ran, tails absent": {map[string]any{
			"tasks.condition-2.status": "Succeeded", "tasks.condition-3.status": "Skipped",
			"tasks.condition-2.outputs.parameters.pipelinechannel--make-Output":                              "heads",
			"tasks.condition-2.outputs.parameters." + MetadataParameterPrefix + "pipelinechannel--make-data": "m-heads",
			"tasks.condition-2.outputs.artifacts.pipelinechannel--make-data":                                 heads,
		}, "heads"},
		"tails ran, heads empty (old Argo)": {map[string]any{
			"tasks.condition-2.status": "Skipped", "tasks.condition-3.status": "Succeeded",
			"tasks.condition-2.outputs.parameters.pipelinechannel--make-Output":                                "",
			"tasks.condition-3.outputs.parameters.pipelinechannel--make-2-Output":                              "tails",
			"tasks.condition-3.outputs.parameters." + MetadataParameterPrefix + "pipelinechannel--make-2-data": "m-tails",
			"tasks.condition-3.outputs.artifacts.pipelinechannel--make-2-data":                                 tails,
		}, "tails"},
	} {
		if got := eval(param, tc.scope); got != tc.want {
			t.Errorf("%s: parameter %v, want %s", name, got, tc.want)
		}
		if got := eval(meta, tc.scope); got != "m-"+tc.want {
			t.Errorf("%s: metadata %v", name, got)
		}
		if got, ok := eval(art, tc.scope).(wfv1.Artifact); !ok || got.Name != tc.want+"-data" {
			t.Errorf("%s: artifact %v", name, got)
		}
	}
}
