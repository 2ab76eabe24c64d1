package argo4

import (
	"context"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/test/crdschema"
)

func argo4Rules(t *testing.T) *CRDRules {
	t.Helper()
	dir, err := crdschema.ArgoFullCRDDir("github.com/argoproj/argo-workflows/v4", "v4.0.7")
	if err != nil {
		t.Fatal(err)
	}
	r, err := LoadCRDRules(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCRDRulesReject: the offline check does evaluate Argo 4's CEL rules and its schema, as the apiserver does.
func TestCRDRulesReject(t *testing.T) {
	r := argo4Rules(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"valid", `{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: p-}, spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}}`, ""},
		{"deadline on a DAG", `{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: p-}, spec: {entrypoint: main, templates: [{name: main, activeDeadlineSeconds: 5, dag: {tasks: [{name: a, template: leaf}]}}, {name: leaf, container: {image: alpine}}]}}`, "activeDeadlineSeconds is only valid for leaf templates"},
		{"two template types", `{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: p-}, spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}, suspend: {}}]}}`, "template must have at most one template type"},
		{"depends and dependencies", `{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: p-}, spec: {entrypoint: main, templates: [{name: main, dag: {tasks: [{name: a, template: leaf}, {name: b, template: leaf, depends: a, dependencies: [a]}]}}, {name: leaf, container: {image: alpine}}]}}`, "cannot use both 'depends' and 'dependencies'"},
		{"template name", `{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: p-}, spec: {entrypoint: a_b, templates: [{name: a_b, container: {image: alpine}}]}}`, "should match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Check(context.Background(), []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(got) > 0 {
					t.Errorf("rejected: %q", got)
				}
				return
			}
			if !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Errorf("got %q, want a message containing %q", got, tc.want)
			}
		})
	}
}
