// Package argo talks to Argo Workflows: its validator (offline) and, for submit, its clientset.
package argo

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

// offlineTemplates answers every template lookup with "not found": compiled workflows are self-contained and
// must never reference a WorkflowTemplate.
type offlineTemplates struct{}

func (offlineTemplates) Get(name string) (*wfv1.WorkflowTemplate, error) {
	return nil, fmt.Errorf("workflow template %q: compiled workflows are self-contained", name)
}

type offlineClusterTemplates struct{}

func (offlineClusterTemplates) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("cluster workflow template %q: compiled workflows are self-contained", name)
}

// ValidateWorkflow runs Argo's own validator in lint mode (what `argo lint` does offline). The workflow is
// copied first: the validator reorders DAG tasks in place.
func ValidateWorkflow(wf *wfv1.Workflow) error {
	if err := validate.ValidateWorkflow(offlineTemplates{}, offlineClusterTemplates{}, wf.DeepCopy(), nil, validate.ValidateOpts{Lint: true}); err != nil {
		return fmt.Errorf("argo validation: %w", err)
	}
	return nil
}
