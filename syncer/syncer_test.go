package syncer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

const ns = "team"

type env struct {
	kube *fake.Clientset
	argo *wffake.Clientset
	c    *Controller
	ctx  context.Context
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{kube: fake.NewClientset(), argo: wffake.NewSimpleClientset(), ctx: context.Background()}
	opts.Namespace = ns
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	e.c = New(e.kube, e.argo, opts)
	return e
}

func runWorkflow(name string) *wfv1.Workflow {
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)),
			Labels: map[string]string{
				translate.LabelManagedBy: translate.ManagedByValue, experiments.LabelRun: name,
				experiments.LabelExperiment: "sweep",
			},
			Annotations: map[string]string{experiments.AnnotationExperiment: "sweep"},
		},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning,
			StartedAt: metav1.NewTime(time.Date(2026, 1, 2, 3, 0, 1, 0, time.UTC))},
	}
}

func succeeded(wf *wfv1.Workflow) *wfv1.Workflow {
	wf = wf.DeepCopy()
	wf.Status.Phase = wfv1.WorkflowSucceeded
	wf.Status.FinishedAt = metav1.NewTime(time.Date(2026, 1, 2, 3, 1, 0, 0, time.UTC))
	return wf
}

// put stores wf in the API (fake clientset) and in the informer cache, as a running controller would see it.
func (e *env) put(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	wfs := e.argo.ArgoprojV1alpha1().Workflows(ns)
	if _, err := wfs.Get(e.ctx, wf.Name, metav1.GetOptions{}); err == nil {
		if _, err := wfs.Update(e.ctx, wf, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	} else if _, err := wfs.Create(e.ctx, wf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.informer.GetStore().Update(wf); err != nil {
		t.Fatal(err)
	}
}

// remove deletes wf from the API and the cache.
func (e *env) remove(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	if err := e.argo.ArgoprojV1alpha1().Workflows(ns).Delete(e.ctx, wf.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.informer.GetStore().Delete(wf); err != nil {
		t.Fatal(err)
	}
}

func (e *env) store() *experiments.Store { return e.c.store(ns) }

func (e *env) reconcile(t *testing.T, name string) {
	t.Helper()
	if err := e.c.Reconcile(e.ctx, ns+"/"+name); err != nil {
		t.Fatal(err)
	}
}

func (e *env) record(t *testing.T, name string) experiments.Run {
	t.Helper()
	r, err := e.store().GetRun(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReconcileCreatesRecordAndSkipsNoOpWrites(t *testing.T) {
	e := newEnv(t, Options{})
	wf := runWorkflow("r1")
	e.put(t, wf)
	e.reconcile(t, "r1")
	r := e.record(t, "r1")
	if r.State != experiments.StateRunning || r.Experiment != "sweep" || r.Workflow.UID != "uid-r1" {
		t.Fatalf("record after first reconcile: state %s experiment %q uid %q", r.State, r.Experiment, r.Workflow.UID)
	}
	if got := counterValue(t, e.c.metrics.RecordWrites); got != 1 {
		t.Errorf("record writes = %v, want 1", got)
	}
	e.reconcile(t, "r1") // nothing changed
	if got := counterValue(t, e.c.metrics.WritesSkipped); got != 1 {
		t.Errorf("writes skipped = %v, want 1", got)
	}
	if got := counterValue(t, e.c.metrics.RecordWrites); got != 1 {
		t.Errorf("record writes after no-op = %v, want 1", got)
	}
	e.put(t, succeeded(wf))
	e.reconcile(t, "r1")
	if r := e.record(t, "r1"); r.State != experiments.StateSucceeded {
		t.Errorf("state %s, want SUCCEEDED", r.State)
	}
}

func TestWorkflowGoneMarksRecordDeleted(t *testing.T) {
	e := newEnv(t, Options{})
	wf := runWorkflow("r2")
	e.put(t, wf)
	e.reconcile(t, "r2")
	e.remove(t, wf)
	e.reconcile(t, "r2")
	r := e.record(t, "r2")
	if r.State != experiments.StateWorkflowDeleted || !strings.Contains(r.Error, "deleted before its final state") ||
		!strings.Contains(r.Error, "RUNNING") {
		t.Fatalf("state %s error %q, want WORKFLOW_DELETED with reason naming RUNNING", r.State, r.Error)
	}
	// A terminal record stays as it is.
	e.reconcile(t, "r2")
	if got := e.record(t, "r2"); len(got.History) != len(r.History) {
		t.Errorf("history grew on a second reconcile: %v", got.History)
	}
}

func TestDeletedFinalStateUnknownRecordsLastSeenState(t *testing.T) {
	e := newEnv(t, Options{})
	wf := runWorkflow("r3")
	e.put(t, wf)
	e.reconcile(t, "r3")
	// The workflow succeeded and was deleted (TTL) while the watch was down: only the tombstone has the
	// final state.
	final := succeeded(wf)
	e.remove(t, wf)
	e.c.onDelete(cache.DeletedFinalStateUnknown{Key: ns + "/r3", Obj: final})
	if e.c.queue.Len() != 1 {
		t.Fatalf("queue length %d, want 1", e.c.queue.Len())
	}
	e.reconcile(t, "r3")
	if r := e.record(t, "r3"); r.State != experiments.StateSucceeded {
		t.Errorf("state %s, want SUCCEEDED from the tombstone", r.State)
	}
	if len(e.c.tombstones) != 0 {
		t.Errorf("tombstones left: %v", e.c.tombstones)
	}
}

func TestDeletedWithoutRecordCreatesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	e.reconcile(t, "never")
	if _, err := e.store().GetRun(e.ctx, "never"); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("GetRun = %v, want ErrNotFound", err)
	}
}

func TestCacheLagUsesLiveRead(t *testing.T) {
	e := newEnv(t, Options{})
	wf := runWorkflow("r4")
	// In the API but not yet in the cache: must not be called deleted.
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Create(e.ctx, wf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.reconcile(t, "r4")
	if r := e.record(t, "r4"); r.State != experiments.StateRunning {
		t.Errorf("state %s, want RUNNING", r.State)
	}
}

func (e *env) finalizers(t *testing.T, name string) []string {
	t.Helper()
	wf, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return wf.Finalizers
}

// refresh copies the API's version into the cache (what the informer would do after our patch).
func (e *env) refresh(t *testing.T, name string) *wfv1.Workflow {
	t.Helper()
	wf, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.informer.GetStore().Update(wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

func TestFinalizerAddedWhileRunningRemovedWhenFinal(t *testing.T) {
	e := newEnv(t, Options{Finalizer: true})
	wf := runWorkflow("f1")
	wf.Finalizers = []string{"other/keep"}
	e.put(t, wf)
	e.reconcile(t, "f1")
	if got := e.finalizers(t, "f1"); !slices.Equal(got, []string{"other/keep", Finalizer}) {
		t.Fatalf("finalizers %v, want ours added", got)
	}
	wf = e.refresh(t, "f1")
	e.put(t, succeeded(wf))
	e.reconcile(t, "f1")
	if got := e.finalizers(t, "f1"); !slices.Equal(got, []string{"other/keep"}) {
		t.Fatalf("finalizers %v, want ours removed after the final state", got)
	}
	if r := e.record(t, "f1"); r.State != experiments.StateSucceeded {
		t.Errorf("state %s", r.State)
	}
}

func TestFinalizerDeletionWhileRunningMarksDeletedThenReleases(t *testing.T) {
	e := newEnv(t, Options{Finalizer: true})
	e.put(t, runWorkflow("f2"))
	e.reconcile(t, "f2")
	wf := e.refresh(t, "f2")
	now := metav1.Now()
	wf.DeletionTimestamp = &now
	e.put(t, wf)
	e.reconcile(t, "f2")
	r := e.record(t, "f2")
	if r.State != experiments.StateWorkflowDeleted || !strings.Contains(r.Error, "RUNNING") {
		t.Errorf("state %s error %q, want WORKFLOW_DELETED", r.State, r.Error)
	}
	if got := e.finalizers(t, "f2"); slices.Contains(got, Finalizer) {
		t.Errorf("finalizer still there: %v", got)
	}
}

func TestFinalizerOffRemovesLeftoverFinalizer(t *testing.T) {
	e := newEnv(t, Options{Finalizer: false})
	wf := runWorkflow("f3")
	wf.Finalizers = []string{Finalizer}
	e.put(t, wf)
	e.reconcile(t, "f3")
	if got := e.finalizers(t, "f3"); len(got) != 0 {
		t.Errorf("finalizers %v, want none with finalizer mode off", got)
	}
}

// A cache holding another UID than the API server (the record's) is stale: the record is not superseded.
func TestWorkflowMismatchInStaleCacheIsLeftAlone(t *testing.T) {
	e := newEnv(t, Options{})
	wf := runWorkflow("m1")
	e.put(t, wf)
	e.reconcile(t, "m1")
	other := runWorkflow("m1")
	other.UID = "uid-other"
	if err := e.c.informer.GetStore().Update(other); err != nil {
		t.Fatal(err)
	}
	e.reconcile(t, "m1")
	if r := e.record(t, "m1"); r.Workflow.UID != "uid-m1" {
		t.Errorf("record adopted uid %q", r.Workflow.UID)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The whole controller over fake clientsets: startup sweep, events, shutdown.
func TestRunEndToEndWithFakes(t *testing.T) {
	e := newEnv(t, Options{Workers: 2, Resync: -1})
	// A record whose workflow was deleted while the controller was down.
	if _, _, err := e.store().ReconcileRun(e.ctx, runWorkflow("gone")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Create(e.ctx, runWorkflow("w1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Not a run (neither compiled by kfp-argo nor labelled): ignored.
	plain := runWorkflow("plain")
	delete(plain.Labels, experiments.LabelRun)
	delete(plain.Labels, translate.LabelManagedBy)
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Create(e.ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Compiled by kfp-argo but created without kfp-argo submit (kubectl create, argo submit, a CronWorkflow):
	// a run, in the experiment its labels name.
	compiled := runWorkflow("compiled")
	delete(compiled.Labels, experiments.LabelRun)
	compiled.Labels[experiments.LabelExperiment] = "nightly"
	compiled.Annotations = map[string]string{experiments.AnnotationExperiment: "nightly"}
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Create(e.ctx, compiled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A plain Argo Workflow with the run label only (kfp-argo submit of an Argo manifest): a run.
	labelled := runWorkflow("labelled")
	delete(labelled.Labels, translate.LabelManagedBy)
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Create(e.ctx, labelled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.c.Run(ctx) }()
	state := func(name string) experiments.State {
		r, err := e.store().GetRun(e.ctx, name)
		if err != nil {
			return ""
		}
		return r.State
	}
	waitFor(t, "ready", e.c.Ready)
	waitFor(t, "w1 RUNNING", func() bool { return state("w1") == experiments.StateRunning })
	waitFor(t, "compiled RUNNING", func() bool { return state("compiled") == experiments.StateRunning })
	waitFor(t, "labelled RUNNING", func() bool { return state("labelled") == experiments.StateRunning })
	if r, err := e.store().GetRun(e.ctx, "compiled"); err != nil || r.Experiment != "nightly" {
		t.Errorf("compiled workflow's run: experiment %q, %v; want nightly", r.Experiment, err)
	}
	waitFor(t, "gone WORKFLOW_DELETED", func() bool { return state("gone") == experiments.StateWorkflowDeleted })
	wf, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Get(e.ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.argo.ArgoprojV1alpha1().Workflows(ns).Update(e.ctx, succeeded(wf), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "w1 SUCCEEDED", func() bool { return state("w1") == experiments.StateSucceeded })
	if _, err := e.store().GetRun(e.ctx, "plain"); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("record for a workflow that is not a run: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v on cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestHealthAndMetricsEndpoints(t *testing.T) {
	e := newEnv(t, Options{})
	st := &Status{}
	st.SetController(e.c)
	srv := httptest.NewServer(Handler(st, e.c.Metrics()))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before sync %d, want 503", code)
	}
	st.SetStandby(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz on standby %d, want 200", code)
	}
	st.SetStandby(false)
	e.c.synced.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz after sync %d, want 200", code)
	}
	e.c.Metrics().Reconciles.WithLabelValues("synced").Inc()
	_, body := get("/metrics")
	for _, m := range []string{"kfp_argo_sync_reconciles_total", "kfp_argo_sync_errors_total", "kfp_argo_sync_queue_depth",
		"kfp_argo_sync_record_writes_total", "kfp_argo_sync_record_writes_skipped_total", "kfp_argo_sync_lag_seconds"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestLeaderElectionRunsOnlyTheHolder(t *testing.T) {
	kube := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := LeaderOptions{Namespace: ns, Name: "sync", LeaseDuration: 2 * time.Second, RenewDeadline: time.Second,
		RetryPeriod: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	leading := make(chan string, 2)
	run := func(id string) chan error {
		done := make(chan error, 1)
		o := o
		o.Identity = id
		go func() {
			done <- RunLeader(ctx, kube, o, &Status{}, func(c context.Context) error {
				leading <- id
				<-c.Done()
				return nil
			})
		}()
		return done
	}
	a := run("a")
	first := <-leading
	b := run("b")
	select {
	case id := <-leading:
		t.Fatalf("%s leads while %s holds the lease", id, first)
	case <-time.After(1500 * time.Millisecond):
	}
	cancel()
	for _, d := range []chan error{a, b} {
		select {
		case err := <-d:
			if err != nil {
				t.Errorf("RunLeader on cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("RunLeader did not return")
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// `run delete` removes the Workflow, then the record; a Workflow still terminating (our finalizer, or
// another's) must not get its record back, and our finalizer is released.
func TestTerminatingWorkflowWithoutRecordIsNotRecreated(t *testing.T) {
	e := newEnv(t, Options{Finalizer: true})
	e.put(t, runWorkflow("d1"))
	e.reconcile(t, "d1")
	wf := e.refresh(t, "d1")
	if !slices.Contains(wf.Finalizers, Finalizer) {
		t.Fatalf("finalizers %v", wf.Finalizers)
	}
	if err := e.store().DeleteRun(e.ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	wf.DeletionTimestamp = &now
	e.put(t, wf)
	e.reconcile(t, "d1")
	if _, err := e.store().GetRun(e.ctx, "d1"); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("record after run delete: %v, want ErrNotFound", err)
	}
	if got := e.finalizers(t, "d1"); slices.Contains(got, Finalizer) {
		t.Errorf("finalizer kept: %v", got)
	}
}

// All-namespaces mode: the sweep finds non-terminal records in every namespace, and their keys reconcile in
// their own namespace.
func TestSweepAllNamespaces(t *testing.T) {
	kube, wfc := fake.NewClientset(), wffake.NewSimpleClientset()
	c := New(kube, wfc, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		wf := runWorkflow("run-" + n)
		wf.Namespace = n
		if _, _, err := c.store(n).ReconcileRun(ctx, wf); err != nil {
			t.Fatal(err)
		}
	}
	done := runWorkflow("done")
	done.Namespace = "a"
	if _, _, err := c.store("a").ReconcileRun(ctx, succeeded(done)); err != nil {
		t.Fatal(err)
	}
	if err := c.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for c.queue.Len() > 0 {
		k, _ := c.queue.Get()
		keys = append(keys, k)
		if err := c.Reconcile(ctx, k); err != nil {
			t.Fatal(err)
		}
		c.queue.Done(k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"a/run-a", "b/run-b"}) {
		t.Errorf("swept keys %v, want the two non-terminal records", keys)
	}
	for _, n := range []string{"a", "b"} {
		r, err := c.store(n).GetRun(ctx, "run-"+n)
		if err != nil || r.State != experiments.StateWorkflowDeleted {
			t.Errorf("%s/run-%s: %s %v", n, n, r.State, err)
		}
	}
}
