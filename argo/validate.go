// Package argo talks to Argo Workflows: its validator (offline) and, for submit, its clientset.
package argo

import (
	"context"
	"errors"
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
		return invalid(err)
	}
	return nil
}

// ValidateWorkflowTemplate runs Argo's validator for WorkflowTemplates (lint mode, as `argo template lint`).
func ValidateWorkflowTemplate(wt *wfv1.WorkflowTemplate) error {
	if err := validate.ValidateWorkflowTemplate(offlineTemplates{}, offlineClusterTemplates{}, wt.DeepCopy(), nil, validate.ValidateOpts{Lint: true}); err != nil {
		return invalid(err)
	}
	return nil
}

// ValidateCronWorkflow runs Argo's validator for CronWorkflows (as `argo cron lint`): schedules, timezone,
// concurrency policy and the workflow spec.
func ValidateCronWorkflow(cron *wfv1.CronWorkflow) error {
	if err := validate.ValidateCronWorkflow(context.Background(), offlineTemplates{}, offlineClusterTemplates{}, cron.DeepCopy(), nil); err != nil {
		return invalid(err)
	}
	return nil
}

// ErrInvalid marks an object that Argo's validator rejects. Test with errors.Is.
var ErrInvalid = errors.New("argo validation")

// invalid keeps the validator's message, read as before ("argo validation: ..."), and marks it ErrInvalid.
func invalid(err error) error {
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// knownTemplates answers template lookups from the given WorkflowTemplates only: a run of an uploaded
// pipeline version references its template, which the validator then checks the run's arguments against.
type knownTemplates []*wfv1.WorkflowTemplate

func (k knownTemplates) Get(name string) (*wfv1.WorkflowTemplate, error) {
	for _, t := range k {
		if t.Name == name {
			return t.DeepCopy(), nil
		}
	}
	return nil, fmt.Errorf("workflow template %q: not among the templates given to the validator", name)
}

// ValidateWorkflowWith validates a Workflow that references WorkflowTemplates (workflowTemplateRef) against
// those templates, as the controller will.
func ValidateWorkflowWith(wf *wfv1.Workflow, templates ...*wfv1.WorkflowTemplate) error {
	if err := validate.ValidateWorkflow(knownTemplates(templates), offlineClusterTemplates{}, wf.DeepCopy(), nil, validate.ValidateOpts{Lint: true}); err != nil {
		return invalid(err)
	}
	return nil
}

// ValidateCronWorkflowWith validates a CronWorkflow whose workflow references WorkflowTemplates.
func ValidateCronWorkflowWith(cron *wfv1.CronWorkflow, templates ...*wfv1.WorkflowTemplate) error {
	if err := validate.ValidateCronWorkflow(context.Background(), knownTemplates(templates), offlineClusterTemplates{}, cron.DeepCopy(), nil); err != nil {
		return invalid(err)
	}
	return nil
}
