package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
)

// exec runs one command line with env e and ctx, returning stdout, stderr and the error.
func exec(ctx context.Context, e *env, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	root := NewRootCommand()
	// The cluster commands again, with env e: cobra finds the last registered of a name.
	for _, c := range root.Commands() {
		switch c.Name() {
		case "submit", "experiment", "run", "pipeline", "recurring-run":
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newSubmitCommand(e), newExperimentCommand(e), newRunCommand(e), newPipelineCommand(e), newRecurringRunCommand(e))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestErrorsInTheUsersWords: what a new user meets says what is wrong and what to do, with no ConfigMap
// names or Go error chains, and keeps the sentinel for scripts.
func TestErrorsInTheUsersWords(t *testing.T) {
	fc := newFakeCluster()
	bg := context.Background()
	for _, args := range [][]string{{"run", "get", "nope"}, {"run", "logs", "nope"}, {"run", "stop", "nope"}, {"run", "retry", "nope"},
		{"run", "delete", "nope"}, {"run", "archive", "nope"}, {"run", "watch", "nope"}} {
		_, _, err := exec(bg, fc.env(), args...)
		if err == nil || err.Error() != `run "nope" not found in namespace "ns"` || !errors.Is(err, experiments.ErrNotFound) {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, _, err := exec(bg, fc.env(), "experiment", "get", "nope"); err == nil || err.Error() != `experiment "nope" not found in namespace "ns"` {
		t.Errorf("experiment get: %v", err)
	}
	out, _, err := exec(bg, fc.env(), "experiment", "create", "lr sweep 3")
	if err != nil || out != "experiment/lr sweep 3 created\n" {
		t.Errorf("create: %q %v", out, err)
	}
	if _, _, err := exec(bg, fc.env(), "experiment", "create", "lr sweep 3"); err == nil ||
		err.Error() != `experiment "lr sweep 3" already exists in namespace "ns"` || !errors.Is(err, experiments.ErrAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	for _, r := range []string{"a", "b"} {
		if _, err := fc.cli("submit", pipelineFile, "-r", r, "-e", "lr sweep 3"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := exec(bg, fc.env(), "experiment", "delete", "lr sweep 3"); err == nil ||
		err.Error() != `experiment "lr sweep 3" has 2 runs: delete them first or use --with-runs` {
		t.Errorf("delete with runs: %v", err)
	}

	// Stopping a run that already ended is not a failure.
	fc.setPhase(t, "a", wfv1.WorkflowSucceeded, "")
	out, errOut, err := exec(bg, fc.env(), "run", "stop", "a")
	if err != nil || out != "" || errOut != "run \"a\" already finished (SUCCEEDED); nothing to stop\n" {
		t.Errorf("stop a finished run: %q %q %v", out, errOut, err)
	}

	// A misspelt subcommand fails with suggestions.
	for _, args := range [][]string{{"run", "lst"}, {"experiment", "lst"}} {
		_, _, err := exec(bg, fc.env(), args...)
		if err == nil || !strings.Contains(err.Error(), `unknown command "lst"`) || !strings.Contains(err.Error(), "list") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if out, _, err := exec(bg, fc.env(), "run"); err != nil || !strings.Contains(out, "Available Commands") {
		t.Errorf("run alone shows help: %v\n%s", err, out)
	}
}

// TestNoClusterConfigured: no kubeconfig anywhere says what to set, not client-go's KUBERNETES_MASTER hint.
func TestNoClusterConfigured(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	_, _, err := exec(context.Background(), defaultEnv(), "run", "list")
	if err == nil || err.Error() != "no cluster configured: set KUBECONFIG or use --kubeconfig" {
		t.Errorf("run list without a kubeconfig: %v", err)
	}
}

// TestListUnreachableClusterPrintsNoHeader: the error alone, no table header above it.
func TestListUnreachableClusterPrintsNoHeader(t *testing.T) {
	e := &env{
		clients: func(argo.ClientOptions) (*argo.Clients, error) {
			return argo.NewClientsForConfig(&rest.Config{Host: "http://127.0.0.1:1"}, "ns")
		},
		now: func() time.Time { return testNow }, isTerminal: func(io.Writer) bool { return false },
	}
	for _, args := range [][]string{{"run", "list"}, {"experiment", "list"}} {
		out, _, err := exec(context.Background(), e, args...)
		if err == nil || out != "" {
			t.Errorf("%v: stdout %q, error %v", args, out, err)
		}
	}
}

// TestWatchInterrupted: Ctrl-C while watching says the run goes on and exits 130.
func TestWatchInterrupted(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("submit", pipelineFile, "-r", "long"); err != nil {
		t.Fatal(err)
	}
	fc.setPhase(t, "long", wfv1.WorkflowRunning, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{{"run", "watch", "long"}, {"submit", pipelineFile, "-r", "long2", "--watch"}} {
		_, _, err := exec(ctx, fc.env(), args...)
		name := args[len(args)-1]
		if args[0] == "submit" {
			name = "long2"
		}
		if err == nil || exitCode(err) != exitInterrupted || err.Error() != "stopped watching; run "+name+" continues (kfp-argo run get "+name+")" {
			t.Errorf("%v: %v (exit %d)", args, err, exitCode(err))
		}
	}
}

// TestWatchFailureAndPending: a failed run's watch exits non-zero and its last line names the log command; a
// pending task says why it waits, in the watch view and in run get -o wide.
func TestWatchFailureAndPending(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("submit", pipelineFile, "-r", "f1"); err != nil {
		t.Fatal(err)
	}
	setNodes(t, fc, "f1", wfv1.WorkflowRunning, wfv1.NodePending, "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.")
	out, err := fc.cli("run", "get", "f1", "-o", "wide")
	if err != nil || !strings.Contains(out, "MESSAGE") || !strings.Contains(out, "Unschedulable: 0/1 nodes") {
		t.Errorf("get -o wide of a pending task: %v\n%s", err, out)
	}
	p := &progress{w: &bytes.Buffer{}, now: func() time.Time { return testNow }}
	p.show(fc.getRun(t, "f1"))
	if s := p.w.(*bytes.Buffer).String(); !strings.Contains(s, "waiting: write with prefix: Unschedulable: 0/1 nodes") {
		t.Errorf("watch line of a pending task: %q", s)
	}

	setNodes(t, fc, "f1", wfv1.WorkflowFailed, wfv1.NodeFailed, "Error (exit code 3)")
	out, err = fc.cli("run", "watch", "f1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err == nil || !strings.Contains(err.Error(), "run f1 ended FAILED") || lines[len(lines)-1] != "see the log: kfp-argo run logs f1 --task write-2" {
		t.Errorf("watch of a failed run: %v\n%s", err, out)
	}
}

// setNodes gives Workflow name the phase and one pod node of its task write-2 the node phase and message.
func setNodes(t *testing.T, fc *fakeCluster, name string, phase wfv1.WorkflowPhase, node wfv1.NodePhase, msg string) {
	t.Helper()
	wfs := fc.argo.ArgoprojV1alpha1().Workflows("ns")
	wf, err := wfs.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wf.Status.Phase = phase
	wf.Status.StartedAt = metav1.NewTime(testNow.Add(-time.Minute))
	if phase == wfv1.WorkflowFailed {
		wf.Status.FinishedAt = metav1.NewTime(testNow)
	}
	root, pod := name, name+"-1234"
	wf.Status.Nodes = wfv1.Nodes{
		root: {ID: root, Name: name, DisplayName: name, Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeRunning, Children: []string{pod},
			TemplateName: "pipeline-root", StartedAt: wf.Status.StartedAt},
		pod: {ID: pod, Name: name + ".write-2", DisplayName: "write-2", Type: wfv1.NodeTypePod, Phase: node, Message: msg,
			BoundaryID: root, TemplateName: "write", StartedAt: wf.Status.StartedAt},
	}
	if _, err := wfs.Update(context.Background(), wf, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestLogsOnSimulatedNode: on the dev cluster's kwok node no kubelet serves logs; the pod's node says so.
func TestLogsOnSimulatedNode(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("submit", pipelineFile, "-r", "k1"); err != nil {
		t.Fatal(err)
	}
	setNodes(t, fc, "k1", wfv1.WorkflowRunning, wfv1.NodeRunning, "")
	r := fc.getRun(t, "k1")
	var pod string
	for _, task := range r.Tasks {
		if task.Pod != "" {
			pod = task.Pod
		}
	}
	if pod == "" {
		t.Fatalf("no task pod in %+v", r.Tasks)
	}
	ctx := context.Background()
	if _, err := fc.kube.CoreV1().Pods("ns").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "ns"},
		Spec: corev1.PodSpec{NodeName: "kwok-node-0"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0"}}
	if _, err := fc.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := fc.env()
	k := &kubeFlags{}
	runs, err := e.runs(k)
	if err != nil {
		t.Fatal(err)
	}
	if got := simulatedNode(ctx, e, k, runs, "k1", ""); got != "" {
		t.Errorf("a real node taken for a simulated one: %q", got)
	}
	node.Annotations = map[string]string{kwokNodeAnnotation: "fake"}
	if _, err := fc.kube.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := simulatedNode(ctx, e, k, runs, "k1", "write-2"); got != "kwok-node-0" {
		t.Errorf("simulated node: %q", got)
	}
	if got := simulatedNode(ctx, e, k, runs, "k1", "other-task"); got != "" {
		t.Errorf("node of another task: %q", got)
	}
}

// lockedBuffer is a bytes.Buffer that a test can read while a command writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchClockTicks: on a terminal the view is redrawn on every clock tick, so the elapsed time moves while
// the Workflow does not change.
func TestWatchClockTicks(t *testing.T) {
	fc := newFakeCluster()
	fc.terminal = true
	if _, err := fc.cli("submit", pipelineFile, "-r", "t1"); err != nil {
		t.Fatal(err)
	}
	fc.setPhase(t, "t1", wfv1.WorkflowRunning, "")
	now := testNow
	var nowMu sync.Mutex
	e := fc.env()
	e.now = func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
	var out lockedBuffer
	root := NewRootCommand()
	for _, c := range root.Commands() {
		if c.Name() == "run" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newRunCommand(e))
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"run", "watch", "t1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- root.ExecuteContext(ctx) }()
	// The first frame comes from the Workflow watch; wait for it (bounded: only a broken test waits long).
	for i := 0; i < 6000 && !strings.Contains(out.String(), "run/t1"); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	for i := 1; i <= 2; i++ {
		nowMu.Lock()
		now = now.Add(time.Second)
		nowMu.Unlock()
		fc.ticks <- now
		fc.ticks <- now // received only once the previous tick's frame is drawn
	}
	cancel()
	if err := <-done; exitCode(err) != exitInterrupted {
		t.Errorf("watch ended with %v", err)
	}
	s := out.String()
	// elapsed is measured from the fake Workflow's start, 50 s before testNow.
	for _, want := range []string{"elapsed 50s", "elapsed 51s", "elapsed 52s"} {
		if !strings.Contains(s, want) {
			t.Errorf("no frame with %q:\n%q", want, s)
		}
	}
}
