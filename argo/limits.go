package argo

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Argo 4's CRDs carry CEL rules that the API server enforces on create; kfp-argo checks the ones a compiled
// pipeline can break when the manifest is for Argo 4, so that compile says so instead of the cluster.
const (
	MaxTemplatesV4 = 200 // templates of a Workflow, WorkflowTemplate or CronWorkflow
	MaxDAGTasksV4  = 200 // tasks of one DAG template
)

// CheckLimits refuses a Workflow, WorkflowTemplate or CronWorkflow that Argo version v's API server would
// refuse for its size.
func CheckLimits(obj any, v Version) error {
	if v != V4 {
		return nil
	}
	var templates []wfv1.Template
	switch o := obj.(type) {
	case *wfv1.Workflow:
		templates = o.Spec.Templates
	case *wfv1.WorkflowTemplate:
		templates = o.Spec.Templates
	case *wfv1.CronWorkflow:
		templates = o.Spec.WorkflowSpec.Templates
	}
	if len(templates) > MaxTemplatesV4 {
		return fmt.Errorf("%d templates, over the %d that Argo 4's CRD allows: the pipeline has more distinct sub-DAGs (conditions, loops, sub-pipelines) than kfp-argo can share; split it into pipelines run separately, or compile for --argo-version v3", len(templates), MaxTemplatesV4)
	}
	for _, t := range templates {
		if t.DAG != nil && len(t.DAG.Tasks) > MaxDAGTasksV4 {
			return fmt.Errorf("template %s has %d tasks, over the %d that Argo 4's CRD allows in one DAG", t.Name, len(t.DAG.Tasks), MaxDAGTasksV4)
		}
	}
	return nil
}
