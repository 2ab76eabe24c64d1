package main

import (
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
)

// TestWorkflowTemplateInputArtifacts: a pipeline input artifact without --input-artifact is an error for a
// Workflow that says how to give it, and the entrypoint's input artifact of a WorkflowTemplate, which each run
// supplies; lint checks the template in that shape (no stand-in location).
func TestWorkflowTemplateInputArtifacts(t *testing.T) {
	fixture := "../../translate/testdata/sdk/pipeline-input-artifact.yaml"
	if _, _, err := run("compile", fixture); err == nil || !strings.Contains(err.Error(), "--input-artifact data=URI (or compile with --kind workflowtemplate") {
		t.Errorf("a Workflow without the artifact: %v", err)
	}
	out, _, err := run("compile", fixture, "--kind", "workflowtemplate")
	if err != nil {
		t.Fatal(err)
	}
	var wt wfv1.WorkflowTemplate
	if err := yaml.UnmarshalStrict([]byte(out), &wt); err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflowTemplate(&wt); err != nil {
		t.Fatal(err)
	}
	var entry *wfv1.Template
	for i := range wt.Spec.Templates {
		if wt.Spec.Templates[i].Name == wt.Spec.Entrypoint {
			entry = &wt.Spec.Templates[i]
		}
	}
	if entry == nil || len(entry.Inputs.Artifacts) != 1 || entry.Inputs.Artifacts[0].Name != "data" || entry.Inputs.Artifacts[0].HasLocation() {
		t.Errorf("entrypoint inputs %+v, want the artifact data without a location", entry)
	}
	if out, _, err := run("lint", "--kind", "workflowtemplate", fixture); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("lint --kind workflowtemplate: %v\n%s", err, out)
	}
}
