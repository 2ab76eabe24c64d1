package argo

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// resources are the Argo kinds kfp-argo prints, by kind.
var resources = map[string]string{"Workflow": "workflows", "WorkflowTemplate": "workflowtemplates", "CronWorkflow": "cronworkflows"}

// ServerDryRun sends a printed manifest (YAML or JSON, one Argo object) to the API server the way `kubectl
// create --dry-run=server -f` does: the bytes as they are, not a typed object (whose JSON carries every zero
// value), with strict field validation (kubectl's default), so the CRD schema and admission judge exactly what
// users pipe. Nothing is stored. The object's own namespace wins over namespace.
func ServerDryRun(ctx context.Context, client dynamic.Interface, namespace string, manifest []byte) error {
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal(manifest, &obj.Object); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	gv, err := schema.ParseGroupVersion(obj.GetAPIVersion())
	if err != nil || gv.Group != "argoproj.io" || resources[obj.GetKind()] == "" {
		return fmt.Errorf("manifest: %s %s is not an Argo Workflow, WorkflowTemplate or CronWorkflow", obj.GetAPIVersion(), obj.GetKind())
	}
	if ns := obj.GetNamespace(); ns != "" {
		namespace = ns
	}
	gvr := gv.WithResource(resources[obj.GetKind()])
	_, err = client.Resource(gvr).Namespace(namespace).Create(ctx, &obj, metav1.CreateOptions{
		DryRun:          []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict,
	})
	if err != nil {
		return fmt.Errorf("server dry run of the %s in namespace %s: %w", obj.GetKind(), namespace, err)
	}
	return nil
}
