package experiments

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// Issue 12 item 4: `submit -r NAME` over a finished run whose Workflow is gone is refused before anything is
// created; the finished run's record stays as it was.
func TestSubmitRefusesNameOfAFinishedRun(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "done"}); err != nil {
		t.Fatal(err)
	}
	e.setStatus(t, "done", succeed)
	if _, err := e.runs.Get(e.ctx, "done"); err != nil {
		t.Fatal(err)
	}
	// Argo's TTL (or `argo delete`) removed the Workflow; the record outlives it.
	if err := e.argo.ArgoprojV1alpha1().Workflows(testNS).Delete(e.ctx, "done", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := e.store.GetRun(e.ctx, "done")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "done"})
	if !errors.Is(err, ErrAlreadyExists) || !strings.Contains(err.Error(), "run delete") || !strings.Contains(err.Error(), "SUCCEEDED") {
		t.Fatalf("submit -r over a finished run: %v, want a refusal naming its state and how to free the name", err)
	}
	if _, err := e.runs.WF.Get(e.ctx, "done"); err == nil {
		t.Error("a Workflow was created that no record tracks")
	}
	after, err := e.runs.Get(e.ctx, "done")
	if err != nil || after.State != StateSucceeded || after.Workflow.UID != before.Workflow.UID {
		t.Errorf("record after the refused submit: %s %s %v", after.State, after.Workflow.UID, err)
	}
	// Freed with run delete, the name can be used again.
	if err := e.runs.Delete(e.ctx, "done"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "done"}); err != nil {
		t.Errorf("submit after run delete: %v", err)
	}
}

// Issue 12 item 3: a Workflow re-created under the same name (GitOps, `argo submit` of a fixed name) is a new
// run: the old record ends and is kept under its own name, the new Workflow gets the run's record.
func TestRecreatedWorkflowGetsItsRecordAndTheOldOneEnds(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "fixed", Experiment: "gitops"}); err != nil {
		t.Fatal(err)
	}
	first, err := e.runs.Get(e.ctx, "fixed")
	if err != nil || first.State != StatePending {
		t.Fatalf("first run: %s %v", first.State, err)
	}
	// Deleted and created again outside kfp-argo, with the run labels (as a GitOps tool re-applies it).
	old, err := e.runs.WF.Get(e.ctx, "fixed")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.argo.ArgoprojV1alpha1().Workflows(testNS).Delete(e.ctx, "fixed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := old.DeepCopy()
	again.ResourceVersion, again.UID = "", ""
	if _, err := e.runs.WF.Create(e.ctx, again, false); err != nil {
		t.Fatal(err)
	}
	e.setStatus(t, "fixed", succeed)

	cur, err := e.runs.Get(e.ctx, "fixed")
	if err != nil {
		t.Fatalf("get after re-creation: %v", err)
	}
	live, _ := e.runs.WF.Get(e.ctx, "fixed")
	if cur.Workflow.UID != string(live.UID) || cur.State != StateSucceeded {
		t.Errorf("run record: uid %s state %s, want the new workflow's (%s) SUCCEEDED", cur.Workflow.UID, cur.State, live.UID)
	}
	if cur.Experiment != "gitops" {
		t.Errorf("new record's experiment %q", cur.Experiment)
	}
	prevName := SupersededRunName("fixed", first.Workflow.UID)
	prev, err := e.store.GetRun(e.ctx, prevName)
	if err != nil {
		t.Fatalf("the earlier run's record: %v", err)
	}
	if prev.State != StateWorkflowDeleted || prev.Workflow.UID != first.Workflow.UID || !strings.Contains(prev.Error, "re-created") {
		t.Errorf("earlier run: state %s uid %s error %q", prev.State, prev.Workflow.UID, prev.Error)
	}
	runs, err := e.runs.List(e.ctx, RunFilter{Experiment: "gitops"})
	if err != nil || len(runs) != 2 {
		t.Errorf("list: %d runs, err %v; want both executions", len(runs), err)
	}
	// Reads of the earlier run's name leave it as it is.
	if got, err := e.runs.Get(e.ctx, prevName); err != nil || got.State != StateWorkflowDeleted {
		t.Errorf("get %s: %s %v", prevName, got.State, err)
	}
}

// Issue 12 item 1, found by the e2e chaos test: `run delete` deletes the Workflow in the foreground, so it
// stays (with a deletionTimestamp) until its pods are gone, while its record is already deleted. A CLI read
// in that window must not recreate the record.
func TestReadsDoNotResurrectADeletedRun(t *testing.T) {
	e := newRunsEnv(t)
	if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "going", Experiment: "x"}); err != nil {
		t.Fatal(err)
	}
	wf := e.setStatus(t, "going", func(wf *wfv1.Workflow) {
		now := metav1.Now()
		wf.DeletionTimestamp = &now
		wf.Status.Phase = wfv1.WorkflowRunning
	})
	if wf.DeletionTimestamp == nil {
		t.Fatal("the fake clientset dropped the deletionTimestamp")
	}
	if err := e.store.DeleteRun(e.ctx, "going"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.runs.Get(e.ctx, "going"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get while the Workflow is on its way out: %v, want ErrNotFound", err)
	}
	runs, err := e.runs.List(e.ctx, RunFilter{})
	if err != nil || len(runs) != 0 {
		t.Errorf("list: %d runs, err %v; want none", len(runs), err)
	}
	if _, err := e.store.GetRun(e.ctx, "going"); !errors.Is(err, ErrNotFound) {
		t.Errorf("record of a deleted run is back: %v", err)
	}
}

// Issue 12 item 1, found again by the e2e chaos test (run `rundelete-down` came back as WORKFLOW_DELETED): a
// CLI read took the Workflow before `run delete` removed it and its record, and wrote the record after. A
// read cannot be made atomic with the create; the record it creates must not outlive the check that follows.
func TestStaleReadDoesNotResurrectADeletedRun(t *testing.T) {
	for _, how := range []string{"get", "list"} {
		t.Run(how, func(t *testing.T) {
			e := newRunsEnv(t)
			if _, _, err := e.runs.Submit(e.ctx, SubmitRequest{Workflow: compiledWorkflow(t, nil), RunName: "going", Experiment: "x"}); err != nil {
				t.Fatal(err)
			}
			e.setStatus(t, "going", func(wf *wfv1.Workflow) { wf.Status.Phase = wfv1.WorkflowRunning })
			// The reader's view of the Workflow is taken, then `run delete` runs to its end, then the reader
			// writes.
			deleteRun := func() {
				if err := e.runs.Delete(e.ctx, "going"); err != nil {
					t.Fatal(err)
				}
			}
			switch how {
			case "get":
				stale, err := e.argo.ArgoprojV1alpha1().Workflows(testNS).Get(e.ctx, "going", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				deleteRun()
				if _, _, err := e.runs.reconcile(e.ctx, stale); !errors.Is(err, ErrNotFound) {
					t.Errorf("reconcile of a stale read after run delete: %v, want ErrNotFound", err)
				}
			case "list":
				gvr := wfv1.SchemeGroupVersion.WithResource("workflows")
				gvk := wfv1.SchemeGroupVersion.WithKind("Workflow")
				var once atomic.Bool
				e.argo.PrependReactor("list", "workflows", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if once.Swap(true) {
						return false, nil, nil
					}
					obj, err := e.argo.Tracker().List(gvr, gvk, testNS)
					if err != nil {
						return true, nil, err
					}
					// `run delete` between the reader's list and its writes (the tracker directly: the fake
					// clientset holds its lock while a reactor runs).
					if err := e.argo.Tracker().Delete(gvr, testNS, "going"); err != nil {
						return true, nil, err
					}
					if err := e.store.DeleteRun(e.ctx, "going"); err != nil {
						return true, nil, err
					}
					return true, obj, nil
				})
				if runs, err := e.runs.List(e.ctx, RunFilter{}); err != nil || len(runs) != 0 {
					t.Errorf("list: %d runs, err %v; want none and no error (the run was deleted meanwhile)", len(runs), err)
				}
			}
			if r, err := e.store.GetRun(e.ctx, "going"); !errors.Is(err, ErrNotFound) {
				t.Errorf("record of a deleted run is back: %s %v", r.State, err)
			}
		})
	}
}
