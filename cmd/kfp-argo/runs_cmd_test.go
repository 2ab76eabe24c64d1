package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
)

const pipelineFile = "../../testdata/pipelines/container-io.yaml"

var testNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fakeCluster gives the commands fake clientsets of one namespace; created Workflows get UIDs as on a real
// API server. terminal makes the commands believe stdout is a terminal.
type fakeCluster struct {
	kube     *kubefake.Clientset
	argo     *wffake.Clientset
	uids     atomic.Int64
	terminal bool
	// opts records the connection flags the commands passed.
	opts argo.ClientOptions
	// ticks are the clock ticks of watching commands (env.tick), sent by the test.
	ticks chan time.Time
}

func newFakeCluster() *fakeCluster {
	fc := &fakeCluster{kube: kubefake.NewClientset(), argo: wffake.NewSimpleClientset(), ticks: make(chan time.Time)}
	fc.argo.PrependReactor("create", "workflows", func(a k8stesting.Action) (bool, runtime.Object, error) {
		wf := a.(k8stesting.CreateAction).GetObject().(*wfv1.Workflow)
		wf.UID = types.UID(fmt.Sprintf("uid-%d", fc.uids.Add(1)))
		wf.CreationTimestamp = metav1.NewTime(testNow.Add(-time.Minute))
		return false, nil, nil
	})
	return fc
}

func (fc *fakeCluster) env() *env {
	return &env{
		clients: func(o argo.ClientOptions) (*argo.Clients, error) {
			fc.opts = o
			return &argo.Clients{Kube: fc.kube, Argo: fc.argo, Namespace: "ns"}, nil
		},
		now:        func() time.Time { return testNow },
		isTerminal: func(io.Writer) bool { return fc.terminal },
		tick:       func(time.Duration) (<-chan time.Time, func()) { return fc.ticks, func() {} },
	}
}

// cli runs one command line against the fake cluster.
func (fc *fakeCluster) cli(args ...string) (string, error) {
	out, _, err := exec(context.Background(), fc.env(), args...)
	return out, err
}

func (fc *fakeCluster) workflow(t *testing.T, name string) *wfv1.Workflow {
	t.Helper()
	wf, err := fc.argo.ArgoprojV1alpha1().Workflows("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func (fc *fakeCluster) setPhase(t *testing.T, name string, phase wfv1.WorkflowPhase, msg string) {
	t.Helper()
	if err := fc.trySetPhase(name, phase, msg); err != nil {
		t.Fatal(err)
	}
}

// trySetPhase is setPhase for goroutines, which must not call t.Fatal.
func (fc *fakeCluster) trySetPhase(name string, phase wfv1.WorkflowPhase, msg string) error {
	wf, err := fc.argo.ArgoprojV1alpha1().Workflows("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	wf.Status.Phase = phase
	wf.Status.Message = msg
	wf.Status.StartedAt = metav1.NewTime(testNow.Add(-50 * time.Second))
	if phase == wfv1.WorkflowSucceeded || phase == wfv1.WorkflowFailed {
		wf.Status.FinishedAt = metav1.NewTime(testNow.Add(-10 * time.Second))
	}
	_, err = fc.argo.ArgoprojV1alpha1().Workflows("ns").Update(context.Background(), wf, metav1.UpdateOptions{})
	return err
}

func (fc *fakeCluster) getRun(t *testing.T, name string) experiments.Run {
	t.Helper()
	out, err := fc.cli("run", "get", name, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var r experiments.Run
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("run get -o json: %v\n%s", err, out)
	}
	return r
}

func TestSubmitPipelineAndGet(t *testing.T) {
	fc := newFakeCluster()
	out, err := fc.cli("submit", pipelineFile, "-e", "lr sweep", "-p", "text={{workflow.name}} hi", "-r", "r1", "--display-name", "first",
		"-n", "team", "--context", "c1", "--kubeconfig", "/k")
	if err != nil {
		t.Fatal(err)
	}
	if out != "run/r1 submitted to experiment \"lr sweep\" (PENDING)\n" {
		t.Errorf("submit printed %q", out)
	}
	if fc.opts != (argo.ClientOptions{Kubeconfig: "/k", Context: "c1", Namespace: "team"}) {
		t.Errorf("connection flags %+v", fc.opts)
	}
	wf := fc.workflow(t, "r1")
	if v := wf.Spec.Arguments.Parameters[0].Value.String(); strings.Contains(v, "{{") {
		t.Errorf("-p value reached Argo evaluable: %q", v)
	}
	if wf.Labels[experiments.LabelRun] != "r1" || wf.Annotations[experiments.AnnotationExperiment] != "lr sweep" {
		t.Errorf("workflow metadata %v %v", wf.Labels, wf.Annotations)
	}
	r := fc.getRun(t, "r1")
	if r.Parameters["text"] != "{{workflow.name}} hi" || r.DisplayName != "first" || r.Experiment != "lr sweep" || r.State != experiments.StatePending {
		t.Errorf("record %+v", r)
	}
	fc.setPhase(t, "r1", wfv1.WorkflowSucceeded, "")
	table, err := fc.cli("run", "get", "r1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"State:         SUCCEEDED", "Experiment:    lr sweep", "text = {{workflow.name}} hi", "Duration:      40s"} {
		if !strings.Contains(table, want) {
			t.Errorf("run get table lacks %q:\n%s", want, table)
		}
	}
}

func TestSubmitPlainWorkflow(t *testing.T) {
	fc := newFakeCluster()
	dir := t.TempDir()
	file := filepath.Join(dir, "wf.yaml")
	manifest := `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: message
      value: x
  templates:
  - name: main
    inputs:
      parameters:
      - name: message
    container:
      image: busybox
      command: [echo, "{{inputs.parameters.message}}"]
`
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := fc.cli("submit", file, "-p", "message={{workflow.name}}", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(strings.TrimSpace(out), "run/")
	if !strings.HasPrefix(name, "hello-") || len(name) != len("hello-")+5 {
		t.Fatalf("submit -o name printed %q", out)
	}
	wf := fc.workflow(t, name)
	// A plain Workflow's arguments are Argo's to evaluate, as with `argo submit -p`.
	if got := wf.Spec.Arguments.Parameters[0].Value.String(); got != "{{workflow.name}}" {
		t.Errorf("argument %q", got)
	}
	r := fc.getRun(t, name)
	if r.Experiment != experiments.DefaultExperiment || r.PipelineName != "" || r.Parameters["message"] != "{{workflow.name}}" {
		t.Errorf("record %+v", r)
	}
	if _, err := fc.cli("submit", file, "--no-cache"); err == nil || !strings.Contains(err.Error(), "pipelines only") {
		t.Errorf("--no-cache with a plain workflow: %v", err)
	}
}

func TestSubmitClientDryRunNeedsNoCluster(t *testing.T) {
	fc := newFakeCluster()
	e := fc.env()
	e.clients = func(argo.ClientOptions) (*argo.Clients, error) { return nil, errors.New("no cluster here") }
	cmd := newSubmitCommand(e)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{pipelineFile, "--dry-run=client", "-r", "dry-1", "-e", "exp"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(out.Bytes(), &wf); err != nil {
		t.Fatalf("not a workflow: %v\n%s", err, out.String())
	}
	if wf.Name != "dry-1" || wf.Labels[experiments.LabelRun] != "dry-1" || wf.Labels[experiments.LabelExperiment] != "exp" {
		t.Errorf("dry run workflow metadata %+v", wf.ObjectMeta)
	}
	if err := argo.ValidateWorkflow(&wf); err != nil {
		t.Error(err)
	}
}

// finishLater moves the Workflow name to Running and then to phase once a command watches it, each step
// after the previous one reached the record, so a watcher sees every state whatever the machine's load.
func (fc *fakeCluster) finishLater(t *testing.T, name string, phase wfv1.WorkflowPhase, msg string) {
	watches := func() int {
		n := 0
		for _, a := range fc.argo.Actions() {
			if a.GetVerb() == "watch" && a.GetResource().Resource == "workflows" {
				n++
			}
		}
		return n
	}
	before := watches()
	recordState := func() string {
		cm, err := fc.kube.CoreV1().ConfigMaps("ns").Get(context.Background(), experiments.RunObjectName(name), metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return cm.Labels[experiments.LabelState]
	}
	// until polls a condition that another goroutine makes true; the bound only ends a broken test.
	until := func(cond func() bool) bool {
		for i := 0; i < 6000; i++ {
			if cond() {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	go func() {
		if !until(func() bool { return watches() > before && recordState() != "" }) {
			t.Errorf("%s: no watch began", name)
			return
		}
		if err := fc.trySetPhase(name, wfv1.WorkflowRunning, ""); err != nil {
			t.Errorf("set phase: %v", err)
			return
		}
		if !until(func() bool { return recordState() == string(experiments.StateRunning) }) {
			t.Errorf("%s: RUNNING never reached the record", name)
			return
		}
		if err := fc.trySetPhase(name, phase, msg); err != nil {
			t.Errorf("set phase: %v", err)
		}
	}()
}

func TestSubmitWaitExitCode(t *testing.T) {
	fc := newFakeCluster()
	fc.finishLater(t, "bad", wfv1.WorkflowFailed, "exit code 3")
	_, err := fc.cli("submit", pipelineFile, "-r", "bad", "--wait")
	if err == nil || !strings.Contains(err.Error(), "run bad ended FAILED: exit code 3") {
		t.Errorf("--wait on a failing run: %v", err)
	}
	fc.finishLater(t, "good", wfv1.WorkflowSucceeded, "")
	if _, err := fc.cli("submit", pipelineFile, "-r", "good", "--wait"); err != nil {
		t.Errorf("--wait on a succeeding run: %v", err)
	}
}

func TestWatchOutput(t *testing.T) {
	fc := newFakeCluster()
	fc.finishLater(t, "w1", wfv1.WorkflowSucceeded, "")
	out, err := fc.cli("submit", pipelineFile, "-r", "w1", "--watch")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("escape sequences in plain output:\n%q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[len(lines)-1], "run/w1 SUCCEEDED") {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] == lines[i-1] {
			t.Errorf("plain output repeats a line: %q", lines[i])
		}
	}

	// With -o the progress goes to stderr: stdout holds just the final record.
	fc.finishLater(t, "w3", wfv1.WorkflowSucceeded, "")
	out, err = fc.cli("submit", pipelineFile, "-r", "w3", "--watch", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var final experiments.Run
	if err := json.Unmarshal([]byte(out), &final); err != nil || final.State != experiments.StateSucceeded {
		t.Errorf("--watch -o json stdout is not the final record (%v):\n%s", err, out)
	}

	fc.terminal = true
	fc.finishLater(t, "w2", wfv1.WorkflowSucceeded, "")
	out, err = fc.cli("submit", pipelineFile, "-r", "w2", "--watch")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\x1b[") || !strings.Contains(out, "run/w2  SUCCEEDED") {
		t.Errorf("terminal output does not redraw:\n%q", out)
	}
}

func TestRunListFiltersAndFormats(t *testing.T) {
	fc := newFakeCluster()
	for _, args := range [][]string{
		{"submit", pipelineFile, "-r", "a1", "-e", "exp-a", "-p", "text=one"},
		{"submit", pipelineFile, "-r", "a2", "-e", "exp-a", "-p", "text=two"},
		{"submit", pipelineFile, "-r", "b1", "-e", "exp-b"},
	} {
		if _, err := fc.cli(args...); err != nil {
			t.Fatal(err)
		}
	}
	fc.setPhase(t, "a2", wfv1.WorkflowFailed, "boom")
	out, err := fc.cli("run", "list", "-e", "exp-a", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out); len(got) != 2 || !strings.HasPrefix(out, "run/a") {
		t.Errorf("list -e exp-a: %q", out)
	}
	out, err = fc.cli("run", "list", "--state", "failed", "-o", "name")
	if err != nil || out != "run/a2\n" {
		t.Errorf("list --state failed: %q %v", out, err)
	}
	out, err = fc.cli("run", "list", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "boom") || !strings.Contains(out, "container-io") {
		t.Errorf("list -o wide:\n%s", out)
	}
	if _, err := fc.cli("run", "list", "--state", "bogus"); err == nil {
		t.Error("--state bogus accepted")
	}
	if _, err := fc.cli("run", "list", "-o", "xml"); err == nil {
		t.Error("-o xml accepted")
	}

	out, err = fc.cli("run", "compare", "-e", "exp-a", "-o", "csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"kind", "name", "a1", "a2", "differs"}, {"run", "state", "PENDING", "FAILED", ""}, {"parameter", "text", "one", "two", "true"}}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Errorf("compare csv:\n%v\nwant\n%v", recs, want)
	}
	if _, err := fc.cli("run", "compare"); err == nil {
		t.Error("compare without -e or runs accepted")
	}
	out, err = fc.cli("run", "compare", "a1", "b1")
	if err != nil || !strings.Contains(out, "* text") {
		t.Errorf("compare table:\n%s (%v)", out, err)
	}
}

func TestRunLifecycleCommands(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("submit", pipelineFile, "-r", "x1", "-e", "exp"); err != nil {
		t.Fatal(err)
	}
	fc.setPhase(t, "x1", wfv1.WorkflowRunning, "")
	out, err := fc.cli("run", "terminate", "x1")
	if err != nil || out != "run/x1 terminated: CANCELING\n" {
		t.Errorf("terminate: %q %v", out, err)
	}
	if fc.workflow(t, "x1").Spec.Shutdown != wfv1.ShutdownStrategyTerminate {
		t.Error("terminate did not set spec.shutdown")
	}
	fc.setPhase(t, "x1", wfv1.WorkflowFailed, "Stopped with strategy 'Terminate'")
	if r := fc.getRun(t, "x1"); r.State != experiments.StateCanceled {
		t.Errorf("after terminate: %s", r.State)
	}
	out, err = fc.cli("run", "retry", "x1")
	if err != nil || out != "run/x1 retried (attempt 2): RUNNING\n" {
		t.Errorf("retry: %q %v", out, err)
	}
	if _, err := fc.cli("run", "archive", "x1"); err != nil {
		t.Fatal(err)
	}
	if out, _ := fc.cli("run", "list", "-o", "name"); out != "" {
		t.Errorf("archived run listed: %q", out)
	}
	if out, _ := fc.cli("run", "list", "--archived", "-o", "name"); out != "run/x1\n" {
		t.Errorf("--archived: %q", out)
	}

	// Experiments: delete is refused while runs exist, --with-runs deletes workflows and records.
	if _, err := fc.cli("experiment", "delete", "exp"); err == nil || !errors.Is(err, experiments.ErrExperimentHasRuns) {
		t.Errorf("delete with runs: %v", err)
	}
	out, err = fc.cli("experiment", "delete", "exp", "--with-runs")
	if err != nil || out != "run/x1 deleted\nexperiment/exp deleted\n" {
		t.Errorf("delete --with-runs: %q %v", out, err)
	}
	if _, err := fc.argo.ArgoprojV1alpha1().Workflows("ns").Get(context.Background(), "x1", metav1.GetOptions{}); err == nil {
		t.Error("workflow of a deleted run still exists")
	}
}

func TestExperimentCommands(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("experiment", "create", "lr sweep", "--description", "learning rates"); err != nil {
		t.Fatal(err)
	}
	out, err := fc.cli("experiment", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "lr sweep") || !strings.Contains(out, "AVAILABLE") {
		t.Errorf("list:\n%s", out)
	}
	if _, err := fc.cli("experiment", "create", "lr sweep"); !errors.Is(err, experiments.ErrAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	if _, err := fc.cli("experiment", "archive", "lr sweep"); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.cli("submit", pipelineFile, "-e", "lr sweep"); !errors.Is(err, experiments.ErrExperimentArchived) {
		t.Errorf("submit to an archived experiment: %v", err)
	}
	out, err = fc.cli("experiment", "get", "lr sweep", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var x experiments.Experiment
	if err := json.Unmarshal([]byte(out), &x); err != nil || x.StorageState != experiments.StorageArchived || x.Description != "learning rates" {
		t.Errorf("get -o json: %+v %v", x, err)
	}
	if _, err := fc.cli("experiment", "unarchive", "lr sweep"); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.cli("experiment", "delete", "Default"); !errors.Is(err, experiments.ErrDefaultExperiment) {
		t.Errorf("delete Default: %v", err)
	}
}

// Issue 14 item 7: `-o name` never prints a space (experiment names may have them); what it prints is
// accepted back by the commands that take an experiment, as `kubectl get pod/x` is.
func TestExperimentNameOutputRoundTrips(t *testing.T) {
	fc := newFakeCluster()
	for _, name := range []string{"lr sweep", "plain"} {
		if _, err := fc.cli("experiment", "create", name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fc.cli("submit", pipelineFile, "-e", "lr sweep", "-r", "in-sweep"); err != nil {
		t.Fatal(err)
	}
	out, err := fc.cli("experiment", "list", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	refs := strings.Fields(out)
	if len(refs) != 2 || strings.Count(out, "\n") != 2 {
		t.Fatalf("experiment list -o name: %q, want two space-free lines (lr sweep, plain)", out)
	}
	got := map[string]string{}
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "experiment/") {
			t.Errorf("%q: want experiment/NAME", ref)
		}
		for _, arg := range []string{ref, strings.TrimPrefix(ref, "experiment/")} {
			js, err := fc.cli("experiment", "get", arg, "-o", "json")
			if err != nil {
				t.Errorf("experiment get %s: %v", arg, err)
				continue
			}
			var x experiments.Experiment
			if err := json.Unmarshal([]byte(js), &x); err != nil {
				t.Fatal(err)
			}
			got[ref] = x.Name
		}
	}
	var sweep string
	for ref, name := range got {
		if name == "lr sweep" {
			sweep = ref
		}
	}
	if sweep == "" || len(got) != 2 {
		t.Fatalf("names resolved: %v", got)
	}
	if out, err := fc.cli("run", "list", "-e", sweep, "-o", "name"); err != nil || !strings.Contains(out, "run/in-sweep\n") {
		t.Errorf("run list -e %s: %q %v", sweep, out, err)
	}
	if out, err := fc.cli("submit", pipelineFile, "-e", sweep, "-r", "by-ref", "-o", "name"); err != nil || out != "run/by-ref\n" {
		t.Errorf("submit -e %s: %q %v", sweep, out, err)
	}
	if out, err := fc.cli("run", "list", "-e", "lr sweep", "-o", "name"); err != nil || !strings.Contains(out, "run/by-ref\n") {
		t.Errorf("run submitted with -e %s is not in lr sweep: %q %v", sweep, out, err)
	}
	if _, err := fc.cli("experiment", "archive", sweep); err != nil {
		t.Errorf("archive %s: %v", sweep, err)
	}
	js, err := fc.cli("experiment", "get", "lr sweep", "-o", "json")
	var x experiments.Experiment
	if err != nil || json.Unmarshal([]byte(js), &x) != nil || x.StorageState != experiments.StorageArchived {
		t.Errorf("after archive %s: %s %v", sweep, js, err)
	}
	if _, err := fc.cli("experiment", "get", "experiment/no-such"); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("unknown experiment: %v", err)
	}
}

// Issue 12 item 16: names Argo or the records cannot use are refused before anything is created.
func TestSubmitAndExperimentRefuseUnusableNames(t *testing.T) {
	fc := newFakeCluster()
	for _, n := range []int{64, 100, 240} {
		name := strings.Repeat("r", n)
		_, err := fc.cli("submit", pipelineFile, "-r", name)
		if err == nil || !strings.Contains(err.Error(), "63") {
			t.Errorf("submit -r <%d chars>: err %v, want a refusal naming the 63-character limit", n, err)
		}
		if wfs, _ := fc.argo.ArgoprojV1alpha1().Workflows("ns").List(context.Background(), metav1.ListOptions{}); len(wfs.Items) != 0 {
			t.Fatalf("submit -r <%d chars> created %d workflows", n, len(wfs.Items))
		}
	}
	if _, err := fc.cli("submit", pipelineFile, "-r", strings.Repeat("r", 63)); err != nil {
		t.Errorf("submit -r <63 chars>: %v", err)
	}
	for _, bad := range []string{"bad\xffname", "\xc3"} {
		if _, err := fc.cli("experiment", "create", bad); !errors.Is(err, experiments.ErrInvalid) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("experiment create %q: %v, want an invalid-UTF-8 refusal", bad, err)
		}
		if _, err := fc.cli("submit", pipelineFile, "-e", bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("submit -e %q: %v, want an invalid-UTF-8 refusal", bad, err)
		}
	}
	if cms, _ := fc.kube.CoreV1().ConfigMaps("ns").List(context.Background(), metav1.ListOptions{}); len(cms.Items) != 2 {
		t.Errorf("%d record ConfigMaps, want 2 (Default and the 63-character run)", len(cms.Items))
	}
}
