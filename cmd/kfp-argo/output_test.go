package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestListOutputConventions: kubectl's shapes: -o json/yaml a List with items, --no-headers, -A with a
// NAMESPACE column, `experiment create` says what it created.
func TestListOutputConventions(t *testing.T) {
	fc := newFakeCluster()
	for _, r := range []string{"l1", "l2"} {
		if _, err := fc.cli("submit", pipelineFile, "-r", r, "-e", "exp"); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"run", "list", "-o", "json"}, {"run", "list", "-o", "yaml"}, {"experiment", "list", "-o", "json"}} {
		out, err := fc.cli(args...)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			APIVersion string           `json:"apiVersion"`
			Kind       string           `json:"kind"`
			Items      []map[string]any `json:"items"`
		}
		if err := yaml.Unmarshal([]byte(out), &list); err != nil || list.Kind != "List" || list.APIVersion != "v1" || len(list.Items) == 0 {
			t.Errorf("%v: %+v %v\n%s", args, list, err, out)
		}
	}
	out, err := fc.cli("run", "list", "--no-headers")
	if err != nil || strings.Contains(out, "NAME") || len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Errorf("--no-headers:\n%s (%v)", out, err)
	}
	out, err = fc.cli("experiment", "list", "--no-headers")
	if err != nil || strings.Contains(out, "NAME") {
		t.Errorf("experiment list --no-headers:\n%s (%v)", out, err)
	}
	// Runs of another namespace: -A lists both, with the namespace first.
	other := compiledFor(t, "o1", "team-b")
	if _, err := fc.argo.ArgoprojV1alpha1().Workflows("team-b").Create(context.Background(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "list", "-A"}, {"run", "list", "--all-namespaces"}} {
		out, err = fc.cli(args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || !strings.HasPrefix(lines[0], "NAMESPACE") || len(lines) != 4 || !strings.HasPrefix(lines[1], "ns ") ||
			!strings.HasPrefix(lines[3], "team-b ") || !strings.Contains(lines[3], "o1") {
			t.Errorf("%v:\n%s (%v)", args, out, err)
		}
	}
	out, err = fc.cli("experiment", "list", "-A")
	if err != nil || !strings.HasPrefix(out, "NAMESPACE") || !strings.Contains(out, "team-b") {
		t.Errorf("experiment list -A:\n%s (%v)", out, err)
	}
}

// TestRunListWatch: -w prints the list, then a run's row again when it changed, until Ctrl-C.
func TestRunListWatch(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("submit", pipelineFile, "-r", "w1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string)
	go func() {
		out, _, err := exec(ctx, fc.env(), "run", "list", "-w")
		if err != nil {
			out += "error: " + err.Error()
		}
		done <- out
	}()
	fc.ticks <- time.Time{} // first poll: nothing changed
	fc.setPhase(t, "w1", wfv1.WorkflowRunning, "")
	fc.ticks <- time.Time{} // second poll: w1 RUNNING
	fc.ticks <- time.Time{} // returns once the second poll is printed
	cancel()
	out := <-done
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "PENDING") ||
		!strings.HasPrefix(lines[2], "w1 ") || !strings.Contains(lines[2], "RUNNING") {
		t.Errorf("run list -w:\n%s", out)
	}
}

// TestServerDryRunManifestIsApplicable: what --dry-run=server -o yaml prints has apiVersion and kind and
// nothing the API server fills in, so it pipes into kubectl apply.
func TestServerDryRunManifestIsApplicable(t *testing.T) {
	fc := newFakeCluster()
	out, err := fc.cli("submit", pipelineFile, "-r", "d1", "--dry-run=server", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(out), &u.Object); err != nil {
		t.Fatal(err)
	}
	if u.GetAPIVersion() != "argoproj.io/v1alpha1" || u.GetKind() != "Workflow" || u.GetName() != "d1" {
		t.Errorf("apiVersion %q kind %q name %q", u.GetAPIVersion(), u.GetKind(), u.GetName())
	}
	for _, f := range []string{"managedFields", "uid", "resourceVersion", "creationTimestamp"} {
		if _, ok := u.Object["metadata"].(map[string]any)[f]; ok {
			t.Errorf("metadata.%s printed", f)
		}
	}
	if _, ok := u.Object["status"]; ok {
		t.Error("status printed")
	}
	var js map[string]any
	out, err = fc.cli("submit", pipelineFile, "-r", "d2", "--dry-run=server", "-o", "json")
	if err != nil || json.Unmarshal([]byte(out), &js) != nil || js["kind"] != "Workflow" {
		t.Errorf("-o json: %v\n%s", err, out)
	}
}

// compiledFor is a compiled Workflow named name in namespace ns, as kubectl create would leave it.
func compiledFor(t *testing.T, name, ns string) *wfv1.Workflow {
	t.Helper()
	out, _, err := run("compile", pipelineFile, "--name", name, "-n", ns, "-e", "exp")
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(out), &wf); err != nil {
		t.Fatal(err)
	}
	return &wf
}
