//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

// TestArgoCRDRules shows which CRDs the apiserver enforces: Argo 4's full CRDs carry CEL rules
// (x-kubernetes-validations) and limits that Argo 3.7.18's lack. On make e2e-v4 each manifest below is
// rejected with Argo 4's message; on make e2e (Argo 3) the same bytes are accepted.
func TestArgoCRDRules(t *testing.T) {
	const wf = `{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: rules-}, spec: {entrypoint: main, templates: [%s, {name: leaf, container: {image: alpine}}]}}`
	var tasks []string
	for i := range 201 {
		tasks = append(tasks, fmt.Sprintf("{name: t%d, template: leaf}", i))
	}
	for _, tc := range []struct{ name, main, argo4 string }{
		{"deadline on a DAG", `{name: main, activeDeadlineSeconds: 5, dag: {tasks: [{name: a, template: leaf}]}}`, "activeDeadlineSeconds is only valid for leaf templates"},
		{"timeout on a DAG", `{name: main, timeout: 5s, dag: {tasks: [{name: a, template: leaf}]}}`, "timeout cannot be applied to steps or dag templates"},
		{"201 tasks in a DAG", `{name: main, dag: {tasks: [` + strings.Join(tasks, ", ") + `]}}`, "must have at most 200 items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := argo.ServerDryRun(context.Background(), env.dynamic, env.ns, []byte(fmt.Sprintf(wf, tc.main)))
			if env.cluster.Argo() == cluster.Argo4 {
				if err == nil || !strings.Contains(err.Error(), tc.argo4) {
					t.Errorf("Argo 4's CRDs: err = %v, want %q", err, tc.argo4)
				}
				return
			}
			if err != nil {
				t.Errorf("Argo 3's CRDs rejected it: %v", err)
			}
		})
	}
}

// TestArgoControllerVersion: the lane runs the controller it says it runs.
func TestArgoControllerVersion(t *testing.T) {
	var bin string
	for _, p := range env.cluster.Processes() {
		if p.Name == "workflow-controller" {
			bin = p.Binary
		}
	}
	if bin == "" {
		t.Fatal("no workflow-controller process")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	want := "workflow-controller: " + env.cluster.Argo().Release()
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("%s version: %v, want %q in:\n%s", bin, err, want, out)
	}
}
