package argo4

import (
	"context"
	"strings"
	"testing"

	wfv3 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfv4 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/argo"
)

func memoized() *wfv3.Workflow {
	return &wfv3.Workflow{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "p-"},
		Spec: wfv3.WorkflowSpec{
			Entrypoint: "main",
			Templates: []wfv3.Template{{
				Name:      "main",
				Container: &corev1.Container{Image: "alpine"},
				Memoize: &wfv3.Memoize{Key: "k", MaxAge: "", Cache: &wfv3.Cache{ConfigMap: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "x"}}},
			}},
		},
	}
}

// TestConversionIsStrict: the v3 printing of a memoized template keeps memoize.cache.configMap.key, which Argo
// 4's Cache type lacks; decoding it into Argo 4's type must fail, and the v4 printing must pass. So a field
// Argo 4 removed cannot slip through the corpus test.
func TestConversionIsStrict(t *testing.T) {
	v3, err := argo.MarshalFor(memoized(), "json", argo.V3)
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(v3, new(wfv4.Workflow)); err == nil || !strings.Contains(err.Error(), `unknown field "key"`) {
		t.Errorf("v3 printing decoded into Argo 4's type: err = %v, want unknown field \"key\"", err)
	}
	wf4, err := Workflow(memoized())
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateWorkflow(context.Background(), wf4); err != nil {
		t.Errorf("v4 printing rejected: %v", err)
	}
	if wf4.Spec.Templates[0].Memoize.Cache.ConfigMap.Name != "c" {
		t.Errorf("cache ConfigMap lost in conversion: %+v", wf4.Spec.Templates[0].Memoize)
	}
}

// TestValidatorRejects: Argo 4's validator, as called here, does reject an invalid workflow.
func TestValidatorRejects(t *testing.T) {
	wf := memoized()
	wf.Spec.Templates = append(wf.Spec.Templates, wfv3.Template{Name: "dag", DAG: &wfv3.DAGTemplate{Tasks: []wfv3.DAGTask{
		{Name: "a", Template: "main", Depends: "missing"},
	}}})
	wf.Spec.Entrypoint = "dag"
	wf4, err := Workflow(wf)
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateWorkflow(context.Background(), wf4)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a task depending on a missing task: err = %v, want a rejection naming it", err)
	}
}
