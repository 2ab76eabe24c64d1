//go:build e2e

package e2e

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
)

const dagWorkflow = `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: produce
        template: produce
      - name: consume
        template: consume
        depends: produce
        arguments:
          parameters:
          - {name: in, value: "{{tasks.produce.outputs.parameters.out}}"}
      - name: never
        template: consume
        depends: produce
        when: "{{tasks.produce.outputs.parameters.out}} == nope"
        arguments:
          parameters:
          - {name: in, value: "{{tasks.produce.outputs.parameters.out}}"}
      - name: fan
        template: fan
        depends: consume
        arguments:
          parameters:
          - {name: prev, value: "{{tasks.consume.outputs.parameters.out}}"}
  # The loop sits in its own DAG template so that parallelism bounds the
  # iterations only, as the compiler does it.
  - name: fan
    parallelism: 2
    inputs:
      parameters:
      - name: prev
    dag:
      tasks:
      - name: item
        template: item
        withItems: ["a", "b", "c", "d", "e"]
        arguments:
          parameters:
          - {name: in, value: "{{item}}"}
          - {name: prev, value: "{{inputs.parameters.prev}}"}
  - name: produce
    container:
      image: busybox
      command: [sh, -c, "echo hello > /tmp/out"]
    outputs:
      parameters:
      - name: out
        valueFrom: {path: /tmp/out}
  - name: consume
    inputs:
      parameters:
      - name: in
    container:
      image: busybox
      command: [sh, -c, "echo {{inputs.parameters.in}}-world > /tmp/out"]
    outputs:
      parameters:
      - name: out
        valueFrom: {path: /tmp/out}
  - name: item
    inputs:
      parameters:
      - name: in
      - name: prev
    container:
      image: busybox
      command: [echo, "{{inputs.parameters.in}}", "{{inputs.parameters.prev}}"]
`

// TestDAG runs a DAG whose parameters flow through the stand-in's outputs,
// with a `when` that is false and a withItems fan-out under parallelism 2.
func TestDAG(t *testing.T) {
	wf := parseWorkflow(t, dagWorkflow)
	name := harness.NewName("dag")
	wf.Name = name
	watcher := watchPods(t, func(p *corev1.Pod) bool {
		return p.Labels["workflows.argoproj.io/workflow"] == name
	})
	began := time.Now()
	wf = submit(t, wf, "dag", func(task standin.Task) standin.Result {
		switch task.TaskName {
		case "produce":
			return standin.Result{Outputs: map[string]string{"out": "hello"}}
		case "consume":
			return standin.Result{Outputs: map[string]string{"out": task.Inputs["in"] + "-world"}}
		case "item":
			// Long enough for two iterations to be seen side by side.
			return standin.Result{Runtime: 700 * time.Millisecond}
		}
		return standin.Result{}
	})
	done := waitDone(t, wf.Name, 2*time.Minute)
	t.Logf("%s: %s in %.1fs", done.Name, done.Status.Phase, time.Since(began).Seconds())
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("workflow %s", harness.Describe(done))
	}

	got := handled(done.Name)
	if n := len(got["consume"]); n != 1 {
		t.Fatalf("consume ran %d times, want 1", n)
	}
	if in := got["consume"][0].Task.Inputs["in"]; in != "hello" {
		t.Errorf("consume got in=%q, want the producer's output %q", in, "hello")
	}
	if _, ran := got["never"]; ran {
		t.Errorf("task `never` ran although its `when` is false")
	}
	nodes := nodesByDisplayName(done)
	if ns := nodes["never"]; len(ns) != 1 || ns[0].Phase != wfv1.NodeSkipped {
		t.Errorf("node `never`: %+v, want one Skipped node", ns)
	}
	var items []string
	for _, h := range got["item"] {
		items = append(items, h.Task.Inputs["in"])
		if prev := h.Task.Inputs["prev"]; prev != "hello-world" {
			t.Errorf("item %s got prev=%q, want %q", h.Task.Inputs["in"], prev, "hello-world")
		}
	}
	sort.Strings(items)
	if strings.Join(items, ",") != "a,b,c,d,e" {
		t.Errorf("items run: %v, want a..e once each", items)
	}
	if max := watcher.maxActive("item"); max != 2 {
		t.Errorf("at most %d item pods were active at once, want exactly 2 (parallelism 2)", max)
	}
}

// TestFailureExitCode makes a task fail with exit code 3 through its
// template's pod label: the workflow fails with that message and the
// dependent task never runs.
func TestFailureExitCode(t *testing.T) {
	wf := parseWorkflow(t, `
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: boom, template: boom}
      - {name: after, template: ok, depends: boom}
  - name: boom
    metadata:
      labels: {e2e.kwok/exit-code: "3"}
    container: {image: busybox, command: [sh, -c, "exit 3"]}
  - name: ok
    container: {image: busybox, command: ["true"]}
`)
	wf = submit(t, wf, "fail", nil)
	done := waitDone(t, wf.Name, 2*time.Minute)
	if done.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("want Failed, got %s", harness.Describe(done))
	}
	boom := nodesByDisplayName(done)["boom"]
	if len(boom) != 1 || boom[0].Phase != wfv1.NodeFailed || !strings.Contains(boom[0].Message, "exit code 3") {
		t.Errorf("node boom: want Failed with %q, got %s", "exit code 3", harness.Describe(done))
	}
	if _, ran := handled(done.Name)["after"]; ran {
		t.Errorf("task `after` ran after its dependency failed")
	}
}

// TestRetry fails a task twice (exit code 1, chosen by the stand-in) before
// it succeeds under retryStrategy.limit 3.
func TestRetry(t *testing.T) {
	wf := parseWorkflow(t, `
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flaky, template: flaky}
      - name: use
        template: use
        depends: flaky
        arguments:
          parameters:
          - {name: in, value: "{{tasks.flaky.outputs.parameters.out}}"}
  - name: flaky
    retryStrategy: {limit: "3"}
    container: {image: busybox, command: ["true"]}
    outputs:
      parameters:
      - name: out
        valueFrom: {path: /tmp/out}
  - name: use
    inputs:
      parameters: [{name: in}]
    container: {image: busybox, command: ["true"]}
`)
	wf = submit(t, wf, "retry", func(task standin.Task) standin.Result {
		if task.TaskName == "flaky" && task.Attempt < 2 {
			return standin.Result{ExitCode: 1}
		}
		return standin.Result{Outputs: map[string]string{"out": "third-time"}}
	})
	done := waitDone(t, wf.Name, 2*time.Minute)
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("want Succeeded, got %s", harness.Describe(done))
	}
	got := handled(done.Name)
	var attempts []int
	for _, h := range got["flaky"] {
		attempts = append(attempts, h.Task.Attempt)
	}
	sort.Ints(attempts)
	if len(attempts) != 3 || attempts[0] != 0 || attempts[1] != 1 || attempts[2] != 2 {
		t.Errorf("flaky attempts %v, want [0 1 2]", attempts)
	}
	failed, succeeded := 0, 0
	for _, n := range done.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.TemplateName == "flaky" {
			switch n.Phase {
			case wfv1.NodeFailed:
				failed++
			case wfv1.NodeSucceeded:
				succeeded++
			}
		}
	}
	if failed != 2 || succeeded != 1 {
		t.Errorf("flaky pods: %d failed, %d succeeded; want 2 and 1: %s", failed, succeeded, harness.Describe(done))
	}
	if use := got["use"]; len(use) != 1 || use[0].Task.Inputs["in"] != "third-time" {
		t.Errorf("use: %+v, want one run with in=third-time", use)
	}
}

// TestServerDryRun checks that server-side dry run goes through the full
// CRD schema: a valid workflow is accepted and not stored, a malformed one
// is rejected.
func TestServerDryRun(t *testing.T) {
	ctx := context.Background()
	wf := parseWorkflow(t, dagWorkflow)
	wf.Name = "dry-run"
	out, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Create(ctx, wf, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("dry run of a valid workflow: %v", err)
	}
	if out.Name != "dry-run" || len(out.Spec.Templates) != len(wf.Spec.Templates) {
		t.Errorf("dry run returned %s with %d templates", out.Name, len(out.Spec.Templates))
	}
	if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, "dry-run", metav1.GetOptions{}); !apierr.IsNotFound(err) {
		t.Errorf("dry run stored the workflow (get: %v)", err)
	}

	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Workflow",
		"metadata":   map[string]any{"name": "dry-run-bad"},
		"spec": map[string]any{
			"entrypoint":  "main",
			"parallelism": "two", // integer in the schema
			"templates":   []any{map[string]any{"name": "main", "container": map[string]any{"image": "busybox"}}},
		},
	}}
	gvr := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}
	_, err = env.dynamic.Resource(gvr).Namespace(env.ns).Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierr.IsInvalid(err) {
		t.Errorf("dry run of spec.parallelism=\"two\": got %v, want Invalid", err)
	}
}

// podWatcher tracks, per task name, how many pods were active (created and
// not yet ended) at the same time.
type podWatcher struct {
	mu     sync.Mutex
	active map[string]map[string]bool // task -> pod -> active
	max    map[string]int
}

// watchPods starts a pod informer for the test's lifetime. Every event is
// seen in order, so the maximum is exact for the states the apiserver
// recorded.
func watchPods(t *testing.T, match func(*corev1.Pod) bool) *podWatcher {
	t.Helper()
	w := &podWatcher{active: map[string]map[string]bool{}, max: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactoryWithOptions(env.kube, 0, informers.WithNamespace(env.ns))
	inf := factory.Core().V1().Pods().Informer()
	update := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || !match(p) {
			return
		}
		task, _ := standin.ParseNodeName(p.Annotations["workflows.argoproj.io/node-name"])
		ended := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.active[task] == nil {
			w.active[task] = map[string]bool{}
		}
		w.active[task][p.Name] = !ended
		n := 0
		for _, a := range w.active[task] {
			if a {
				n++
			}
		}
		if n > w.max[task] {
			w.max[task] = n
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    update,
		UpdateFunc: func(_, obj any) { update(obj) },
	}); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("pod informer did not sync")
	}
	t.Cleanup(func() {
		cancel()
		factory.Shutdown()
	})
	return w
}

func (w *podWatcher) maxActive(task string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max[task]
}
