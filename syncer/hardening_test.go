package syncer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/client-go/tools/cache"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
)

func (e *env) runs() *experiments.Runs {
	return experiments.NewRuns(e.store(), argo.NewWorkflows(e.argo, e.kube, ns))
}

func (e *env) wantNoRecord(t *testing.T, name, when string) {
	t.Helper()
	if r, err := e.store().GetRun(e.ctx, name); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("%s: record %q is back (state %s, err %v); a deleted run must stay deleted", when, name, r.State, err)
	}
}

// Issue 12 item 1: `run delete` (Workflow, then record) must never be undone by the controller, whatever
// the order in which it sees the events and however stale its cache is.
func TestDeletedRunNeverComesBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		// seen delivers what the controller learns after `run delete` finished.
		seen func(e *env, last *wfv1.Workflow)
	}{
		{"delete event", func(e *env, last *wfv1.Workflow) {
			_ = e.c.informer.GetStore().Delete(last)
			e.c.onDelete(last)
		}},
		{"delete event with the final state", func(e *env, last *wfv1.Workflow) {
			_ = e.c.informer.GetStore().Delete(last)
			e.c.onDelete(succeeded(last))
		}},
		{"missed delete (DeletedFinalStateUnknown)", func(e *env, last *wfv1.Workflow) {
			_ = e.c.informer.GetStore().Delete(last)
			e.c.onDelete(cache.DeletedFinalStateUnknown{Key: ns + "/" + last.Name, Obj: succeeded(last)})
		}},
		{"stale cache (resync re-delivers the deleted Workflow)", func(e *env, last *wfv1.Workflow) {
			e.c.enqueueObj(last) // still in the informer cache: no event yet
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			wf := runWorkflow("gone")
			e.put(t, wf)
			e.reconcile(t, "gone")
			if err := e.runs().Delete(e.ctx, "gone"); err != nil {
				t.Fatal(err)
			}
			e.wantNoRecord(t, "gone", "after run delete")
			tc.seen(e, wf)
			e.reconcile(t, "gone")
			e.wantNoRecord(t, "gone", "after the controller saw the deletion")
			// Later events for the key (a second delivery, a resync) change nothing either.
			e.reconcile(t, "gone")
			e.wantNoRecord(t, "gone", "after a second reconcile")
			// A restarted controller over the same cluster: an empty cache, the start-up sweep.
			e2 := &env{kube: e.kube, argo: e.argo, ctx: e.ctx}
			e2.c = New(e.kube, e.argo, e.c.opts)
			if err := e2.c.Sweep(e.ctx); err != nil {
				t.Fatal(err)
			}
			if err := e2.c.Reconcile(e.ctx, ns+"/gone"); err != nil {
				t.Fatal(err)
			}
			e.wantNoRecord(t, "gone", "after a controller restart")
		})
	}
}

// Issue 12 item 1: `experiment delete --with-runs` deletes each run the same way; none comes back.
func TestExperimentDeleteWithRunsLeavesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	var wfs []*wfv1.Workflow
	for _, n := range []string{"x1", "x2", "x3"} {
		wf := runWorkflow(n)
		if n == "x2" {
			wf = succeeded(wf)
		}
		e.put(t, wf)
		e.reconcile(t, n)
		wfs = append(wfs, wf)
	}
	runs, err := e.runs().List(e.ctx, experiments.RunFilter{Experiment: "sweep"})
	if err != nil || len(runs) != 3 {
		t.Fatalf("runs %d, err %v", len(runs), err)
	}
	for _, r := range runs {
		if err := e.runs().Delete(e.ctx, r.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store().DeleteExperiment(e.ctx, "sweep", true); err != nil {
		t.Fatal(err)
	}
	for _, wf := range wfs {
		_ = e.c.informer.GetStore().Delete(wf)
		e.c.onDelete(wf)
	}
	for _, wf := range wfs {
		e.reconcile(t, wf.Name)
		e.wantNoRecord(t, wf.Name, "after experiment delete --with-runs")
	}
}

// withTask gives wf one pod task, "train", in the given phase, with the numeric output accuracy when set.
func withTask(wf *wfv1.Workflow, phase wfv1.NodePhase, accuracy string) *wfv1.Workflow {
	wf = wf.DeepCopy()
	id := wf.NodeID(wf.Name + ".train")
	task := wfv1.NodeStatus{ID: id, Name: wf.Name + ".train", DisplayName: "train", Type: wfv1.NodeTypePod,
		Phase: phase, BoundaryID: wf.Name, TemplateName: "train", StartedAt: wf.Status.StartedAt}
	if phase == wfv1.NodeSucceeded {
		task.FinishedAt = metav1.NewTime(wf.Status.StartedAt.Add(30 * time.Second))
	}
	if accuracy != "" {
		task.Outputs = &wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "accuracy", Value: wfv1.AnyStringPtr(accuracy)}}}
	}
	wf.Status.Nodes = wfv1.Nodes{
		wf.Name: {ID: wf.Name, Name: wf.Name, DisplayName: wf.Name, Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeRunning,
			TemplateName: "main", Children: []string{id}, StartedAt: wf.Status.StartedAt},
		id: task,
	}
	return wf
}

func historyStates(r experiments.Run) []experiments.State {
	var out []experiments.State
	for _, h := range r.History {
		out = append(out, h.State)
	}
	return out
}

// Issue 12 item 5: the controller writes from its informer cache, which can be older than the Workflow the
// CLI just read and recorded. An older status must not move the run or a task backwards.
func TestStaleCacheNeverMovesRecordBackwards(t *testing.T) {
	e := newEnv(t, Options{})
	old := withTask(runWorkflow("s1"), wfv1.NodeRunning, "")
	e.put(t, old)
	e.reconcile(t, "s1")

	// `run stop` read a newer Workflow: the task finished with its metric, and spec.shutdown is set.
	fresh := withTask(old, wfv1.NodeSucceeded, "0.9")
	fresh.Spec.Shutdown = wfv1.ShutdownStrategyStop
	if _, _, err := e.store().ReconcileRun(e.ctx, fresh); err != nil {
		t.Fatal(err)
	}
	want := e.record(t, "s1")
	if want.State != experiments.StateCanceling || want.Metrics["train.accuracy"] != 0.9 {
		t.Fatalf("after run stop: state %s metrics %v", want.State, want.Metrics)
	}

	// The controller still has the old Workflow in its cache (the update event is on its way).
	e.c.enqueueObj(old)
	e.reconcile(t, "s1")
	got := e.record(t, "s1")
	if got.State != experiments.StateCanceling {
		t.Errorf("state went back to %s; history %v", got.State, historyStates(got))
	}
	if len(got.History) != len(want.History) {
		t.Errorf("history %v, want %v", historyStates(got), historyStates(want))
	}
	if len(got.Tasks) != 1 || got.Tasks[0].State != experiments.StateSucceeded {
		t.Errorf("task rows went back: %+v", got.Tasks)
	}
	if got.Metrics["train.accuracy"] != 0.9 {
		t.Errorf("metrics lost: %v", got.Metrics)
	}

	// The newer Workflow reaching the cache changes nothing more.
	e.put(t, withTask(fresh, wfv1.NodeSucceeded, "0.9"))
	e.reconcile(t, "s1")
	if r := e.record(t, "s1"); r.State != experiments.StateCanceling || len(r.History) != len(want.History) {
		t.Errorf("the fresh Workflow again: state %s history %v", r.State, historyStates(r))
	}
}

// The lattice keeps RUNNING and PAUSED at one level: a suspended run that is resumed is RUNNING again.
func TestSuspendAndResumeStillMove(t *testing.T) {
	e := newEnv(t, Options{})
	wf := runWorkflow("p1")
	e.put(t, wf)
	e.reconcile(t, "p1")
	paused := wf.DeepCopy()
	paused.Spec.Suspend = ptr(true)
	e.put(t, paused)
	e.reconcile(t, "p1")
	e.put(t, wf)
	e.reconcile(t, "p1")
	r := e.record(t, "p1")
	if got := historyStates(r); r.State != experiments.StateRunning || len(got) != 4 || got[2] != experiments.StatePaused {
		t.Errorf("state %s history %v, want PENDING RUNNING PAUSED RUNNING", r.State, got)
	}
}

func ptr[T any](v T) *T { return &v }

// Issue 12 item 3: a Workflow deleted and created again under the same name is a new run. The controller
// ends the earlier run's record (with the final state it saw, else WORKFLOW_DELETED), keeps it under
// experiments.SupersededRunName, and tracks the new Workflow in the run's record.
func TestRecreatedWorkflowSupersedesTheRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		// recreate tells the controller, as its informer would, that first was replaced by second.
		recreate  func(e *env, first, second *wfv1.Workflow)
		wantEnded experiments.State
	}{
		{"delete and add events", func(e *env, first, second *wfv1.Workflow) {
			_ = e.c.informer.GetStore().Delete(first)
			e.c.onDelete(succeeded(first))
			e.put(t, second)
			e.c.enqueueObj(second)
		}, experiments.StateSucceeded},
		{"update event with another UID (the watch missed the delete)", func(e *env, first, second *wfv1.Workflow) {
			e.put(t, second)
			e.c.onUpdate(first, second)
		}, experiments.StateWorkflowDeleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Finalizer: true})
			first := runWorkflow("g1")
			e.put(t, first)
			e.reconcile(t, "g1")
			first = e.refresh(t, "g1")
			if err := e.argo.ArgoprojV1alpha1().Workflows(ns).Delete(e.ctx, "g1", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			second := runWorkflow("g1")
			second.UID = "uid-g1-second"
			tc.recreate(e, first, second)
			e.reconcile(t, "g1")

			cur := e.record(t, "g1")
			if cur.Workflow.UID != "uid-g1-second" || cur.State != experiments.StateRunning {
				t.Errorf("run record: uid %s state %s, want the new workflow's, RUNNING", cur.Workflow.UID, cur.State)
			}
			prev := e.record(t, experiments.SupersededRunName("g1", "uid-g1"))
			if prev.Workflow.UID != "uid-g1" || prev.State != tc.wantEnded {
				t.Errorf("earlier run: uid %s state %s, want %s", prev.Workflow.UID, prev.State, tc.wantEnded)
			}
			if got := e.finalizers(t, "g1"); !slices.Contains(got, Finalizer) {
				t.Errorf("new workflow's finalizers %v: it is tracked, so it must carry ours", got)
			}
			// Reconciling again (a resync) changes nothing.
			e.refresh(t, "g1")
			e.reconcile(t, "g1")
			if again := e.record(t, "g1"); again.Workflow.UID != cur.Workflow.UID || len(again.History) != len(cur.History) {
				t.Errorf("second reconcile changed the record: %v", historyStates(again))
			}
		})
	}
}

// The opposite order: the CLI already gave the new Workflow its record while the controller's cache still
// holds the earlier Workflow. The cache is stale, the record is right: nothing is superseded.
func TestStaleCacheDoesNotSupersedeTheNewerRecord(t *testing.T) {
	e := newEnv(t, Options{})
	first := runWorkflow("g2")
	e.put(t, first)
	e.reconcile(t, "g2")
	if err := e.argo.ArgoprojV1alpha1().Workflows(ns).Delete(e.ctx, "g2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	second := runWorkflow("g2")
	second.UID = "uid-g2-second"
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Create(e.ctx, second, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.runs().Get(e.ctx, "g2"); err != nil { // the CLI reads the API server
		t.Fatal(err)
	}
	e.c.enqueueObj(first) // the cache still has the first
	e.reconcile(t, "g2")
	if r := e.record(t, "g2"); r.Workflow.UID != "uid-g2-second" || r.State != experiments.StateRunning {
		t.Errorf("record: uid %s state %s, want the new workflow's, RUNNING", r.Workflow.UID, r.State)
	}
	if _, err := e.store().GetRun(e.ctx, experiments.SupersededRunName("g2", "uid-g2-second")); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("the newer run was superseded by a stale cache: %v", err)
	}
	// The update event that replaced the first Workflow arrives: the record already tracks the second, so
	// the first one's copy is of no more use and is not kept.
	if err := e.c.informer.GetStore().Update(second); err != nil {
		t.Fatal(err)
	}
	e.c.onUpdate(first, second)
	e.reconcile(t, "g2")
	if len(e.c.tombstones) != 0 {
		t.Errorf("tombstones kept: %v", e.c.tombstones)
	}
}

// Issue 12 item 2: a run whose record is over the ConfigMap limit (5,000 tasks with 20 numeric outputs
// each) still reaches its final state, and in finalizer mode its Workflow is released.
func TestOversizedRunEndsAndReleasesItsWorkflow(t *testing.T) {
	e := newEnv(t, Options{Finalizer: true})
	wf := runWorkflow("huge")
	e.put(t, wf)
	e.reconcile(t, "huge")
	wf = e.refresh(t, "huge")
	if !slices.Contains(wf.Finalizers, Finalizer) {
		t.Fatalf("finalizers %v", wf.Finalizers)
	}
	final := succeeded(wf)
	rng := rand.New(rand.NewPCG(1, 2)) // real metrics: poorly compressible numbers
	children := make([]string, 0, 5000)
	final.Status.Nodes = wfv1.Nodes{}
	for i := range 5000 {
		name := fmt.Sprintf("huge.task-%d", i)
		id := final.NodeID(name)
		children = append(children, id)
		params := make([]wfv1.Parameter, 20)
		for j := range params {
			params[j] = wfv1.Parameter{Name: fmt.Sprintf("out%02d", j), Value: wfv1.AnyStringPtr(fmt.Sprint(rng.Float64()))}
		}
		final.Status.Nodes[id] = wfv1.NodeStatus{ID: id, Name: name, DisplayName: fmt.Sprintf("task-%d", i), Type: wfv1.NodeTypePod,
			Phase: wfv1.NodeSucceeded, BoundaryID: "huge", TemplateName: "work", StartedAt: final.Status.StartedAt,
			FinishedAt: final.Status.FinishedAt, Outputs: &wfv1.Outputs{Parameters: params}}
	}
	final.Status.Nodes["huge"] = wfv1.NodeStatus{ID: "huge", Name: "huge", DisplayName: "huge", Type: wfv1.NodeTypeDAG,
		Phase: wfv1.NodeSucceeded, TemplateName: "main", Children: children, StartedAt: final.Status.StartedAt,
		FinishedAt: final.Status.FinishedAt}
	e.put(t, final)
	e.reconcile(t, "huge")
	r := e.record(t, "huge")
	if r.State != experiments.StateSucceeded || r.FinishedAt.IsZero() {
		t.Errorf("state %s finished %v, want SUCCEEDED with its time", r.State, r.FinishedAt)
	}
	if !r.Encoding.Degraded() || r.TaskCounts()[experiments.StateSucceeded] != 5000 {
		t.Errorf("encoding %s, counts %v: want a degraded record that still counts 5000 succeeded tasks", r.Encoding, r.TaskCounts())
	}
	if got := e.finalizers(t, "huge"); slices.Contains(got, Finalizer) {
		t.Errorf("finalizer kept on a finished run: %v", got)
	}
}
