// Package argo4 converts kfp-argo's compiled objects, which are Argo v3.7.18 types, to Argo v4.0.7's through the
// manifest `kfp-argo compile --argo-version v4` prints, and runs Argo 4's own validator on them. Its tests hold
// every corpus pipeline and large synthetic ones to Argo 4 without a cluster; the e2e lane (test/e2e/argo4)
// sends the same bytes to an apiserver with Argo 4's CRDs and runs them with Argo 4's controller.
package argo4

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/util/logging"
	"github.com/argoproj/argo-workflows/v4/workflow/validate"

	"github.com/kfp-argo/kfp-argo/argo"
)

// Manifest prints obj (a v3 Workflow, WorkflowTemplate or CronWorkflow) as compile does for Argo 4, in JSON.
func Manifest(obj any) ([]byte, error) {
	return argo.MarshalFor(obj, "json", argo.V4)
}

// decodeStrict decodes a printed manifest into an Argo 4 type, failing on any field Argo 4's types lack (what
// a v4 apiserver's strict field validation, kubectl's default, would reject).
func decodeStrict(manifest []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(manifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("decode as Argo 4 %T: %w", into, err)
	}
	return nil
}

// Workflow converts a compiled v3 Workflow to Argo 4's type through its printed v4 manifest.
func Workflow(obj any) (*wfv1.Workflow, error) { return convert[wfv1.Workflow](obj) }

// WorkflowTemplate converts a compiled v3 WorkflowTemplate to Argo 4's type through its printed v4 manifest.
func WorkflowTemplate(obj any) (*wfv1.WorkflowTemplate, error) {
	return convert[wfv1.WorkflowTemplate](obj)
}

// CronWorkflow converts a compiled v3 CronWorkflow to Argo 4's type through its printed v4 manifest.
func CronWorkflow(obj any) (*wfv1.CronWorkflow, error) { return convert[wfv1.CronWorkflow](obj) }

func convert[T any](obj any) (*T, error) {
	m, err := Manifest(obj)
	if err != nil {
		return nil, err
	}
	out := new(T)
	return out, decodeStrict(m, out)
}

// offline answers every template lookup with "not found": compiled workflows are self-contained.
type offline struct{}

func (offline) Get(_ context.Context, name string) (*wfv1.WorkflowTemplate, error) {
	return nil, fmt.Errorf("workflow template %q: compiled workflows are self-contained", name)
}

type offlineCluster struct{}

func (offlineCluster) Get(_ context.Context, name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("cluster workflow template %q: compiled workflows are self-contained", name)
}

// Argo 4's validator logs through a logger it requires in the context.
func validationContext(ctx context.Context) context.Context {
	return logging.WithLogger(ctx, logging.NewSlogLogger(logging.Error, logging.Text))
}

// ValidateWorkflow runs Argo 4's validator in lint mode (`argo lint`) on a copy: it reorders DAG tasks in place.
func ValidateWorkflow(ctx context.Context, wf *wfv1.Workflow) error {
	return validate.ValidateWorkflow(validationContext(ctx), offline{}, offlineCluster{}, wf.DeepCopy(), nil, validate.ValidateOpts{Lint: true})
}

// ValidateWorkflowTemplate runs Argo 4's validator for WorkflowTemplates in lint mode.
func ValidateWorkflowTemplate(ctx context.Context, wt *wfv1.WorkflowTemplate) error {
	return validate.ValidateWorkflowTemplate(validationContext(ctx), offline{}, offlineCluster{}, wt.DeepCopy(), nil, validate.ValidateOpts{Lint: true})
}

// ValidateCronWorkflow runs Argo 4's validator for CronWorkflows: schedules, timezone, policy and the spec.
func ValidateCronWorkflow(ctx context.Context, cw *wfv1.CronWorkflow) error {
	return validate.ValidateCronWorkflow(validationContext(ctx), offline{}, offlineCluster{}, cw.DeepCopy(), nil)
}
