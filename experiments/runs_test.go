package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate"
)

// runsEnv is a fake namespace: ConfigMaps that conflict like the API server (newFakeCluster), and a fake Argo
// clientset that gives each created Workflow a UID, as the API server does.
type runsEnv struct {
	fc    *fakeCluster
	argo  *wffake.Clientset
	runs  *Runs
	uids  atomic.Int64
	ctx   context.Context
	store *Store
}

func newRunsEnv(t *testing.T) *runsEnv {
	t.Helper()
	e := &runsEnv{fc: newFakeCluster(t), argo: wffake.NewSimpleClientset(), ctx: context.Background()}
	e.argo.PrependReactor("create", "workflows", func(a k8stesting.Action) (bool, runtime.Object, error) {
		wf := a.(k8stesting.CreateAction).GetObject().(*wfv1.Workflow)
		wf.UID = types.UID(fmt.Sprintf("uid-%d", e.uids.Add(1)))
		wf.CreationTimestamp = metav1.NewTime(sec(0))
		return false, nil, nil // the tracker stores it
	})
	e.store = e.fc.store()
	e.runs = NewRuns(e.store, argo.NewWorkflows(e.argo, e.fc.cs, testNS))
	e.runs.DeleteTimeout = 5 * time.Second
	return e
}

func (e *runsEnv) setStatus(t *testing.T, name string, mut func(*wfv1.Workflow)) *wfv1.Workflow {
	t.Helper()
	wfs := e.argo.ArgoprojV1alpha1().Workflows(testNS)
	wf, err := wfs.Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mut(wf)
	wf, err = wfs.Update(e.ctx, wf, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func compiledWorkflow(t *testing.T, params map[string]any) *wfv1.Workflow {
	t.Helper()
	p, err := translate.LoadFile("../testdata/pipelines/container-io.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func succeed(wf *wfv1.Workflow) {
	wf.Status.Phase = wfv1.WorkflowSucceeded
	wf.Status.StartedAt = metav1.NewTime(sec(1))
	wf.Status.FinishedAt = metav1.NewTime(sec(9))
}

func fail(wf *wfv1.Workflow) {
	wf.Status.Phase = wfv1.WorkflowFailed
	wf.Status.Message = "boom"
	wf.Status.StartedAt = metav1.NewTime(sec(1))
	wf.Status.FinishedAt = metav1.NewTime(sec(9))
}

func TestSubmitWritesWorkflowThenRecord(t *testing.T) {
	e := newRunsEnv(t)
	wf := compiledWorkflow(t, nil)
	run, created, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: wf, Experiment: "lr sweep", DisplayName: "first try"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Name, wf.GenerateName) || len(created.Name) != len(wf.GenerateName)+5 || created.GenerateName != "" {
		t.Errorf("name %q (generateName %q), want %q plus 5 characters", created.Name, created.GenerateName, wf.GenerateName)
	}
	if created.Labels[LabelRun] != created.Name || created.Labels[LabelExperiment] != LabelValue("lr sweep") ||
		created.Annotations[AnnotationExperiment] != "lr sweep" || created.Annotations[AnnotationRunDisplayName] != "first try" {
		t.Errorf("workflow metadata: labels %v annotations %v", created.Labels, created.Annotations)
	}
	if run.Name != created.Name || run.State != StatePending || run.Experiment != "lr sweep" || run.DisplayName != "first try" ||
		run.Workflow.UID != string(created.UID) || run.PipelineName == "" || run.PipelineDigest == "" {
		t.Errorf("record %+v", run)
	}
	if len(run.Parameters) == 0 {
		t.Errorf("record has no parameters; workflow arguments %v", created.Spec.Arguments.Parameters)
	}
	if _, err := e.store.GetExperiment(e.ctx, "lr sweep"); err != nil {
		t.Errorf("experiment not created on first use: %v", err)
	}
}

func TestSubmitParametersAreDecoded(t *testing.T) {
	e := newRunsEnv(t)
	wf := compiledWorkflow(t, nil)
	if len(wf.Spec.Arguments.Parameters) == 0 {
		t.Skip("fixture has no pipeline parameters")
	}
	name := wf.Spec.Arguments.Parameters[0].Name
	wf.Spec.Arguments.Parameters[0].Value = wfv1.AnyStringPtr("%%kfpb64:e3t4fX0=%%") // "{{x}}", as translate encodes it
	run, created, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: wf, RunName: "inert-1"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Parameters[name] != "{{x}}" {
		t.Errorf("record parameter %s = %q, want {{x}}", name, run.Parameters[name])
	}
	if got := created.Spec.Arguments.Parameters[0].Value.String(); got != "%%kfpb64:e3t4fX0=%%" {
		t.Errorf("workflow argument changed to %q: Argo must still get the inert form", got)
	}
}

func TestSubmitRefusesArchivedExperimentBeforeCreatingAnything(t *testing.T) {
	e := newRunsEnv(t)
	if _, err := e.store.CreateExperiment(e.ctx, Experiment{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ArchiveExperiment(e.ctx, "old"); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), Experiment: "old"})
	if !errors.Is(err, ErrExperimentArchived) {
		t.Fatalf("err = %v, want ErrExperimentArchived", err)
	}
	wfs, _ := e.runs.WF.List(e.ctx, "")
	if len(wfs) != 0 {
		t.Errorf("%d workflows created for an archived experiment", len(wfs))
	}
}

func TestSubmitDryRuns(t *testing.T) {
	e := newRunsEnv(t)
	run, wf, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "dry", DryRun: DryRunClient})
	if err != nil || wf == nil || wf.Labels[LabelRun] != "dry" || run.Name != "" {
		t.Fatalf("client dry run: run %+v wf %v err %v", run, wf, err)
	}
	if got := len(e.argo.Actions()); got != 0 {
		t.Errorf("client dry run made %d API calls", got)
	}
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "dry", DryRun: DryRunServer}); err != nil {
		t.Fatal(err)
	}
	// That DryRun=All reaches the API server is tested in argo (Argo's fake clientset drops CreateOptions).
	if _, err := e.store.GetRun(e.ctx, "dry"); !errors.Is(err, ErrNotFound) {
		t.Errorf("dry run wrote a record: %v", err)
	}
}

func TestSubmitNameTaken(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "taken"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "taken"})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second submit with -r taken: err = %v, want already exists", err)
	}
}

// A submit that died after creating its Workflow: the next read builds the record from the Workflow.
func TestReadsHealAMissingRecord(t *testing.T) {
	e := newRunsEnv(t)
	_, created, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "orphan", Experiment: "exp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteRun(e.ctx, "orphan"); err != nil {
		t.Fatal(err)
	}
	e.setStatus(t, created.Name, succeed)
	runs, err := e.runs.List(e.ctx, RunFilter{Experiment: "exp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Name != "orphan" || runs[0].State != StateSucceeded || runs[0].Experiment != "exp" {
		t.Fatalf("list after a lost record: %+v", runs)
	}
}

func TestGetMarksDeletedWorkflow(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := e.argo.ArgoprojV1alpha1().Workflows(testNS).Delete(e.ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err := e.runs.Get(e.ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if run.State != StateWorkflowDeleted {
		t.Errorf("state %s, want WORKFLOW_DELETED", run.State)
	}
	if _, err := e.runs.Get(e.ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get of an unknown run: %v, want ErrNotFound", err)
	}
}

func TestShutdownAndRetry(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "r1"}); err != nil {
		t.Fatal(err)
	}
	e.setStatus(t, "r1", func(wf *wfv1.Workflow) {
		wf.Status.Phase = wfv1.WorkflowRunning
		wf.Status.StartedAt = metav1.NewTime(sec(1))
	})
	if _, err := e.runs.Retry(e.ctx, "r1"); !errors.Is(err, ErrInvalid) {
		t.Errorf("retry of a running run: %v, want ErrInvalid", err)
	}
	run, err := e.runs.Shutdown(e.ctx, "r1", wfv1.ShutdownStrategyTerminate)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != StateCanceling {
		t.Errorf("after terminate: %s, want CANCELING", run.State)
	}
	old := e.setStatus(t, "r1", fail)
	if run, _ = e.runs.Get(e.ctx, "r1"); run.State != StateCanceled {
		t.Fatalf("terminated and failed: %s, want CANCELED", run.State)
	}

	run, err = e.runs.Retry(e.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := e.runs.WF.Get(e.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if wf.UID == old.UID || wf.Annotations[AnnotationRetryCount] != "1" || wf.Spec.Shutdown != "" || wf.Status.Phase != "" {
		t.Errorf("new attempt: uid %s (old %s), retry-count %q, shutdown %q, phase %q", wf.UID, old.UID,
			wf.Annotations[AnnotationRetryCount], wf.Spec.Shutdown, wf.Status.Phase)
	}
	if wf.Labels[LabelRun] != "r1" || wf.Labels[translate.LabelPipeline] == "" {
		t.Errorf("new attempt lost labels: %v", wf.Labels)
	}
	if run.State != StateRunning || run.RetryCount != 1 || run.Workflow.UID != string(wf.UID) {
		t.Errorf("record after retry: %s retry %d uid %s", run.State, run.RetryCount, run.Workflow.UID)
	}
	states := []State{}
	for _, h := range run.History {
		states = append(states, h.State)
	}
	if want := "[PENDING RUNNING CANCELING CANCELED RUNNING]"; fmt.Sprint(states) != want {
		t.Errorf("history %v, want %s", states, want)
	}
	e.setStatus(t, "r1", succeed)
	if run, _ = e.runs.Get(e.ctx, "r1"); run.State != StateSucceeded {
		t.Errorf("retried attempt succeeded, record %s", run.State)
	}
}

// The retry process died after creating the new attempt: a read adopts it by its retry count.
func TestRetryHealsWhenRecordNotUpdated(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "r2"}); err != nil {
		t.Fatal(err)
	}
	old := e.setStatus(t, "r2", fail)
	if run, _ := e.runs.Get(e.ctx, "r2"); run.State != StateFailed {
		t.Fatalf("state %s", run.State)
	}
	wfs := e.argo.ArgoprojV1alpha1().Workflows(testNS)
	if err := wfs.Delete(e.ctx, "r2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := wfs.Create(e.ctx, argo.NewAttempt(old, map[string]string{AnnotationRetryCount: "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err := e.runs.Get(e.ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if run.State != StateRunning || run.RetryCount != 1 {
		t.Errorf("after an interrupted retry: %s retry %d, want RUNNING 1", run.State, run.RetryCount)
	}
	// A same-name Workflow without a larger retry count is a new run under the same name (issue 12 item 3):
	// the retried run ends and is kept under its superseded name, the newcomer gets the record.
	if err := wfs.Delete(e.ctx, "r2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	stranger := argo.NewAttempt(old, nil)
	delete(stranger.Annotations, AnnotationRetryCount)
	if _, err := wfs.Create(e.ctx, stranger, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := e.runs.Get(e.ctx, "r2")
	if err != nil || got.Workflow.UID == run.Workflow.UID || got.RetryCount != 0 {
		t.Errorf("get with a stranger workflow: uid %s retry %d err %v, want the stranger's own record", got.Workflow.UID, got.RetryCount, err)
	}
	if prev, err := e.store.GetRun(e.ctx, SupersededRunName("r2", run.Workflow.UID)); err != nil || prev.RetryCount != 1 || prev.State != StateWorkflowDeleted {
		t.Errorf("the retried run after the stranger took its name: %s retry %d err %v", prev.State, prev.RetryCount, err)
	}
}

func TestWatchUntilTerminal(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "w1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	var seen []State
	started := make(chan struct{})
	go func() {
		<-started // the watch has its first look: the updates below are changes it must see
		// Not setStatus: t.Fatal must not be called outside the test's goroutine.
		for _, mut := range []func(*wfv1.Workflow){
			func(wf *wfv1.Workflow) {
				wf.Status.Phase = wfv1.WorkflowRunning
				wf.Status.StartedAt = metav1.NewTime(sec(1))
			},
			succeed,
		} {
			wfs := e.argo.ArgoprojV1alpha1().Workflows(testNS)
			wf, err := wfs.Get(e.ctx, "w1", metav1.GetOptions{})
			if err == nil {
				mut(wf)
				_, err = wfs.Update(e.ctx, wf, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Errorf("update w1: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	run, err := e.runs.Watch(ctx, "w1", func(r Run) {
		if len(seen) == 0 {
			close(started)
		}
		seen = append(seen, r.State)
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.State != StateSucceeded || seen[0] != StatePending || seen[len(seen)-1] != StateSucceeded {
		t.Errorf("watch saw %v, ended %s", seen, run.State)
	}
}

func TestDeleteRemovesWorkflowThenRecord(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "d1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.runs.Delete(e.ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.runs.WF.Get(e.ctx, "d1"); !errors.Is(err, argo.ErrNotFound) {
		t.Errorf("workflow still there: %v", err)
	}
	if _, err := e.store.GetRun(e.ctx, "d1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("record still there: %v", err)
	}
	var order []string
	for _, a := range append(e.argo.Actions(), e.fc.cs.Actions()...) {
		if a.GetVerb() == "delete" {
			order = append(order, a.GetResource().Resource)
		}
	}
	// Two fakes keep separate action logs; the workflow delete is first by construction of Delete, and
	// the record must not be deleted when the workflow delete fails, which the next case checks.
	if len(order) != 2 {
		t.Errorf("deletes %v", order)
	}
	e.argo.PrependReactor("delete", "workflows", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver down")
	})
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "d2"}); err != nil {
		t.Fatal(err)
	}
	if err := e.runs.Delete(e.ctx, "d2"); err == nil {
		t.Fatal("delete succeeded although the workflow could not be deleted")
	}
	if _, err := e.store.GetRun(e.ctx, "d2"); err != nil {
		t.Errorf("record deleted although its workflow was not: %v", err)
	}
}

func TestLogs(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "l1"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.runs.Logs(e.ctx, "l1", LogsRequest{}, &buf); !errors.Is(err, ErrNotFound) {
		t.Errorf("logs before any pod: %v, want ErrNotFound", err)
	}
	e.setStatus(t, "l1", func(wf *wfv1.Workflow) {
		succeed(wf)
		root := wfv1.NodeStatus{ID: "l1", Name: "l1", Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeSucceeded}
		wf.Status.Nodes = wfv1.Nodes{"l1": root}
		for i, task := range []string{"producer", "consumer"} {
			name := "l1." + task
			n := wfv1.NodeStatus{ID: wf.NodeID(name), Name: name, Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, TemplateName: "t",
				BoundaryID: "l1", StartedAt: metav1.NewTime(sec(int64(2 + i)))}
			wf.Status.Nodes[n.ID] = n
			root.Children = append(root.Children, n.ID)
		}
		wf.Status.Nodes["l1"] = root
	})
	buf.Reset()
	if err := e.runs.Logs(e.ctx, "l1", LogsRequest{}, &buf); err != nil {
		t.Fatal(err)
	}
	// client-go's fake returns "fake logs" for any pod.
	if got := buf.String(); strings.Count(got, "fake logs") != 2 || !strings.Contains(got, "==> ") {
		t.Errorf("logs of all tasks:\n%s", got)
	}
	buf.Reset()
	if err := e.runs.Logs(e.ctx, "l1", LogsRequest{Task: "nope"}, &buf); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "consumer") {
		t.Errorf("unknown task: %v, want ErrNotFound listing the tasks", err)
	}
	if err := e.runs.Logs(e.ctx, "l1", LogsRequest{Follow: true}, &buf); err == nil {
		t.Errorf("-f over two tasks accepted")
	}
}

// TestRecordLeavesRuntimeScriptsOut: the runtime scripts travel as workflow parameters but are not pipeline
// inputs: neither the record written at submit nor one rebuilt from the Workflow lists them.
func TestRecordLeavesRuntimeScriptsOut(t *testing.T) {
	e := newRunsEnv(t)
	wf := compiledWorkflow(t, nil)
	found := false
	for _, p := range wf.Spec.Arguments.Parameters {
		found = found || translate.IsRuntimeParameter(p.Name)
	}
	if !found {
		t.Fatalf("fixture has no runtime script parameter: %v", wf.Spec.Arguments.Parameters)
	}
	run, created, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: wf, RunName: "scripts-1"})
	if err != nil {
		t.Fatal(err)
	}
	delete(created.Annotations, translate.AnnotationParameters)
	rebuilt := MapWorkflow(created, nil, sec(2))
	for what, params := range map[string]map[string]string{"submitted": run.Parameters, "rebuilt": rebuilt.Parameters} {
		if len(params) == 0 {
			t.Errorf("%s record has no parameters", what)
		}
		for name := range params {
			if translate.IsRuntimeParameter(name) {
				t.Errorf("%s record lists %s as a parameter", what, name)
			}
		}
	}
}
