//go:build e2e

// Package e2e runs workflows on a real kube-apiserver and the real Argo
// workflow-controller (test/e2e/cluster); pods are simulated by kwok and
// their outputs reported by the executor stand-in (test/e2e/standin).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
)

// One cluster and one stand-in serve every test of the package: starting the
// stack costs ~20s, a workflow a few seconds.
var (
	env struct {
		cluster *cluster.Cluster
		standin *standin.StandIn
		kube    kubernetes.Interface
		dynamic dynamic.Interface
		argo    argoclient.Interface
		ns      string
		cli     *harness.CLI
	}
	behaviours sync.Map // workflow name -> standin.Func
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	began := time.Now()
	// make e2e-v4 runs the package on Argo 4's CRDs and controller.
	argoVersion, err := cluster.ArgoFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	c, err := cluster.Start(context.Background(), cluster.Options{
		Argo: argoVersion,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the cluster:", err)
		return 1
	}
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "e2e: cluster with Argo %s up in %.1fs\n", argoVersion.Release(), time.Since(began).Seconds())

	// The stand-in's log joins the processes' logs rather than the test
	// output: one line per pod would drown the test results.
	standinLog, err := os.Create(filepath.Join(c.LogDir(), "standin.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer standinLog.Close()
	var logMu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := standin.Start(ctx, c.RESTConfig(), standin.Options{
		Namespace: c.Namespace(),
		Behave:    dispatch,
		Logf: func(f string, a ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(standinLog, time.Now().Format("15:04:05.000 ")+f+"\n", a...)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the stand-in:", err)
		return 1
	}
	// The stand-in's watches end first, or the apiserver waits for them
	// before exiting.
	harness.StopOnSignal("e2e", c, cancel)
	env.cluster, env.standin, env.ns = c, s, c.Namespace()
	env.kube = kubernetes.NewForConfigOrDie(c.RESTConfig())
	env.dynamic = dynamic.NewForConfigOrDie(c.RESTConfig())
	env.argo = argoclient.NewForConfigOrDie(c.RESTConfig())
	env.cli = harness.NewCLI(c, 4*time.Minute)

	code := m.Run()
	// Transient apiserver errors the stand-in rode out (each would once have left a pod Running for ever).
	fmt.Fprintf(os.Stderr, "e2e: the stand-in repeated %d calls after transient errors (%s)\n", s.Retries(), standinLog.Name())
	if code != 0 {
		fmt.Fprintln(os.Stderr, "e2e: tests failed; logs of every process follow")
		c.DumpLogs(os.Stderr, 20000)
		if b, err := os.ReadFile(standinLog.Name()); err == nil {
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			fmt.Fprintf(os.Stderr, "===== executor stand-in %s =====\n%s\n", standinLog.Name(), b)
		}
	}
	cancel()
	s.Wait()
	return code
}

// dispatch sends each pod to the behaviour its test registered for the
// workflow; workflows nobody registered succeed with placeholders.
func dispatch(t standin.Task) standin.Result {
	if f, ok := behaviours.Load(t.Workflow); ok {
		return f.(standin.Func)(t)
	}
	return standin.Result{}
}

// parseWorkflow decodes a YAML workflow.
func parseWorkflow(t *testing.T, doc string) *wfv1.Workflow {
	t.Helper()
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(doc), &wf); err != nil {
		t.Fatalf("workflow YAML: %v", err)
	}
	return &wf
}

// submit names the workflow (unless it has a name), registers its
// behaviour before the controller can create a pod, and creates it.
func submit(t *testing.T, wf *wfv1.Workflow, prefix string, behave standin.Func) *wfv1.Workflow {
	t.Helper()
	if wf.Name == "" {
		wf.Name = harness.NewName(prefix)
	}
	wf.GenerateName = ""
	if wf.Spec.ActiveDeadlineSeconds == nil {
		// A node whose outputs never arrive waits forever; bound it.
		d := int64(300)
		wf.Spec.ActiveDeadlineSeconds = &d
	}
	if behave != nil {
		behaviours.Store(wf.Name, behave)
		t.Cleanup(func() { behaviours.Delete(wf.Name) })
	}
	created, err := createWorkflow(context.Background(), wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create workflow: %v", err)
	}
	return created
}

// createWorkflow creates wf in the test namespace. On Argo 4 (make e2e-v4) it sends what `compile
// --argo-version v4` prints, with strict field validation as kubectl does: Argo 4's Workflow type is not
// v3's, and the typed v3 client would send fields Argo 4 dropped (which the apiserver's default field
// validation only warns about).
func createWorkflow(ctx context.Context, wf *wfv1.Workflow, opts metav1.CreateOptions) (*wfv1.Workflow, error) {
	if env.cluster.Argo() != cluster.Argo4 {
		return env.argo.ArgoprojV1alpha1().Workflows(env.ns).Create(ctx, wf, opts)
	}
	// The typed client fills in apiVersion and kind; bytes must carry them.
	wf = wf.DeepCopy()
	wf.APIVersion, wf.Kind = wfv1.SchemeGroupVersion.String(), wfv1.WorkflowSchemaGroupVersionKind.Kind
	manifest, err := argo.MarshalFor(wf, "json", argo.V4)
	if err != nil {
		return nil, err
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(manifest); err != nil {
		return nil, err
	}
	opts.FieldValidation = metav1.FieldValidationStrict
	created, err := env.dynamic.Resource(wfv1.SchemeGroupVersion.WithResource("workflows")).Namespace(env.ns).Create(ctx, &obj, opts)
	if err != nil {
		return nil, err
	}
	var out wfv1.Workflow
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(created.Object, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// waitDone polls the workflow until it completes and returns it.
func waitDone(t *testing.T, name string, timeout time.Duration) *wfv1.Workflow {
	t.Helper()
	wf, err := harness.WaitDone(context.Background(), env.argo.ArgoprojV1alpha1().Workflows(env.ns), name, timeout)
	if err != nil {
		t.Fatalf("%v%s", err, describePods(context.Background(), name, wf))
	}
	return wf
}

// describeWorkflow is the state of a workflow and its pods for a failure message.
func describeWorkflow(ctx context.Context, name string) string {
	wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("workflow %s: %v%s", name, err, describePods(ctx, name, nil))
	}
	return "workflow " + name + ": " + harness.Describe(wf) + describePods(ctx, name, wf)
}

// describePods lists the pods of a workflow name, so that a timeout shows which piece held a task up: the
// stand-in (no report or no exit-code label: its error is shown), kwok (labelled, still Running) or the
// controller (pod ended, node not), or a pod of an earlier Workflow of that name (owner, deletion).
func describePods(ctx context.Context, workflow string, wf *wfv1.Workflow) string {
	pods, err := env.kube.CoreV1().Pods(env.ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + workflow})
	if err != nil {
		return "\n  pods: " + err.Error()
	}
	reported := map[string]string{}
	for _, h := range env.standin.HandledFor(workflow) {
		if h.Err != nil {
			reported[h.Task.Pod] = "stand-in error: " + h.Err.Error()
		} else {
			reported[h.Task.Pod] = fmt.Sprintf("stand-in reported exit %d", h.Result.ExitCode)
		}
	}
	var b strings.Builder
	for _, p := range pods.Items {
		owner := "none"
		for _, o := range p.OwnerReferences {
			owner = string(o.UID)
			if wf != nil && o.UID == wf.UID {
				owner = "this Workflow"
			}
		}
		label, ok := p.Labels[cluster.ExitCodeLabel]
		if !ok {
			label = "none"
		}
		rep, ok := reported[p.Name]
		if !ok {
			rep = "stand-in: not reported"
		}
		fmt.Fprintf(&b, "\n  pod %s %s exit-code-label=%s %s deleting=%v owner=%s created=%s", p.Name, p.Status.Phase, label, rep,
			p.DeletionTimestamp != nil, owner, p.CreationTimestamp.Format(time.RFC3339))
	}
	return b.String()
}

// nodesByDisplayName groups a workflow's nodes by display name.
func nodesByDisplayName(wf *wfv1.Workflow) map[string][]wfv1.NodeStatus {
	out := map[string][]wfv1.NodeStatus{}
	for _, n := range wf.Status.Nodes {
		out[n.DisplayName] = append(out[n.DisplayName], n)
	}
	return out
}

// handled returns what the stand-in reported for a workflow's pods, by task
// name. Complete once the workflow is: a pod is recorded before it can end.
func handled(wf string) map[string][]standin.Handled {
	out := map[string][]standin.Handled{}
	for _, h := range env.standin.HandledFor(wf) {
		out[h.Task.TaskName] = append(out[h.Task.TaskName], h)
	}
	return out
}
