package standin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

const (
	testNS     = "e2e"
	testWF     = "wf-1"
	testNodeID = "wf-1-123"
)

// testPod is a pod as Argo's controller creates it for node testNodeID of
// testWF: the template with one output parameter in ARGO_TEMPLATE.
func testPod(t *testing.T) *corev1.Pod {
	t.Helper()
	tmpl, err := json.Marshal(wfv1.Template{Name: "main", Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "out"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "wf-1-main-123", Namespace: testNS, UID: "pod-uid",
			Labels:          map[string]string{labelWorkflow: testWF},
			Annotations:     map[string]string{annotationNodeID: testNodeID, annotationNodeName: testWF + ".main"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: testWF, UID: "wf-uid"}},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: envTemplate, Value: string(tmpl)}}}},
			Containers:     []corev1.Container{{Name: "main"}, {Name: "wait"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func testWorkflow(withNode bool) *wfv1.Workflow {
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: testWF, Namespace: testNS, UID: "wf-uid"}}
	if withNode {
		wf.Status.Nodes = wfv1.Nodes{testNodeID: {ID: testNodeID, Name: testWF + ".main", Type: wfv1.NodeTypePod, Phase: wfv1.NodeRunning}}
	}
	return wf
}

// failFirst makes the first n calls of verb on resource fail with err, as an
// apiserver under load does (timeouts, throttling), and counts every call.
func failFirst(n int32, err error, calls *atomic.Int32) k8stesting.ReactionFunc {
	return func(k8stesting.Action) (bool, runtime.Object, error) {
		if calls.Add(1) <= n {
			return true, nil, err
		}
		return false, nil, nil
	}
}

func startFake(t *testing.T, ctx context.Context, kube *kubefake.Clientset, argo *argofake.Clientset) *StandIn {
	t.Helper()
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{})
	s, err := start(ctx, kube, argo, dyn, Options{Namespace: testNS})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A pod whose report or exit-code label failed once on a transient apiserver
// error stayed Running for ever: its workflow never ended (CI stop 23:
// TestRunSucceeds, TestScenarios/ParallelFor_parallelism). The stand-in
// retries until the pod is reported and labelled.
func TestTransientErrorsAreRetried(t *testing.T) {
	for _, c := range []struct {
		name         string
		verb, object string
		client       string
		err          error
	}{
		{"task result create times out", "create", "workflowtaskresults", "argo", apierr.NewServerTimeout(schema.GroupResource{Group: "argoproj.io", Resource: "workflowtaskresults"}, "create", 1)},
		{"task result create throttled", "create", "workflowtaskresults", "argo", apierr.NewTooManyRequests("slow down", 1)},
		{"etcd timeout", "create", "workflowtaskresults", "argo", apierr.NewInternalError(errors.New("etcdserver: request timed out"))},
		{"pod label patch times out", "patch", "pods", "kube", apierr.NewTimeoutError("request did not complete within requested timeout", 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			kube := kubefake.NewSimpleClientset(testPod(t))
			argo := argofake.NewSimpleClientset(testWorkflow(true))
			var calls atomic.Int32
			r := failFirst(2, c.err, &calls)
			if c.client == "argo" {
				argo.PrependReactor(c.verb, c.object, r)
			} else {
				kube.PrependReactor(c.verb, c.object, r)
			}
			s := startFake(t, ctx, kube, argo)
			s.Wait()
			if n := s.Retries(); n != 2 {
				t.Errorf("Retries() = %d, want 2", n)
			}
			if n := calls.Load(); n < 3 {
				t.Errorf("%s %s called %d times, want 3 (two failures, then success)", c.verb, c.object, n)
			}
			pod, err := kube.CoreV1().Pods(testNS).Get(ctx, "wf-1-main-123", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := pod.Labels[cluster.ExitCodeLabel]; got != "0" {
				t.Errorf("exit-code label %q, want \"0\": the pod would stay Running", got)
			}
			tr, err := argo.ArgoprojV1alpha1().WorkflowTaskResults(testNS).Get(ctx, testNodeID, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("task result: %v", err)
			}
			if tr.Outputs == nil || len(tr.Outputs.Parameters) != 1 || tr.Labels[labelOutputsCompleted] != "true" {
				t.Errorf("task result %+v", tr)
			}
		})
	}
}

// A pod whose workflow never shows its node (the workflow was deleted) is
// given up once the pod is gone, not after a fixed wait.
func TestDeletedPodIsGivenUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := kubefake.NewSimpleClientset(testPod(t))
	argo := argofake.NewSimpleClientset(testWorkflow(false))
	s := startFake(t, ctx, kube, argo)
	if err := kube.CoreV1().Pods(testNS).Delete(ctx, "wf-1-main-123", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	h := s.Handled()
	if len(h) != 1 || h[0].Err == nil || !strings.Contains(h[0].Err.Error(), "pod is gone") {
		t.Fatalf("handled %+v, want one error saying the pod is gone", h)
	}
}
