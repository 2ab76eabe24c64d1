package syncer

import (
	"errors"
	"testing"

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
