package experiments

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kfp-argo/kfp-argo/translate"
)

const testNS = "team-a"

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// fakeCluster is a fake clientset that behaves like the API server where the store depends on it:
// resourceVersion is bumped on every write and an update with a stale one is a Conflict (the stock
// fake tracker accepts any update).
type fakeCluster struct {
	cs      *fake.Clientset
	updates atomic.Int64
}

func newFakeCluster(t *testing.T) *fakeCluster {
	t.Helper()
	fc := &fakeCluster{cs: fake.NewClientset()}
	tracker := fc.cs.Tracker()
	var rv int
	fc.cs.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		cm := a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		rv++
		cm.ResourceVersion = strconv.Itoa(rv)
		if err := tracker.Create(configMapsGVR, cm, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
	fc.cs.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		fc.updates.Add(1)
		cm := a.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		cur, err := tracker.Get(configMapsGVR, a.GetNamespace(), cm.Name)
		if err != nil {
			return true, nil, err
		}
		if cur.(*corev1.ConfigMap).ResourceVersion != cm.ResourceVersion {
			return true, nil, apierrors.NewConflict(configMapsGVR.GroupResource(), cm.Name,
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		rv++
		cm.ResourceVersion = strconv.Itoa(rv)
		if err := tracker.Update(configMapsGVR, cm, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
	return fc
}

func (fc *fakeCluster) store(opts ...Option) *Store {
	clock := sec(0)
	opts = append([]Option{WithClock(func() time.Time { return clock })}, opts...)
	return NewStore(fc.cs.CoreV1().ConfigMaps(testNS), opts...)
}

func (fc *fakeCluster) configMap(t *testing.T, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := fc.cs.CoreV1().ConfigMaps(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ConfigMap %s: %v", name, err)
	}
	return cm
}

func TestExperimentLifecycle(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()

	if _, err := s.CreateExperiment(ctx, Experiment{Name: "lr sweep", Description: "learning rates"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateExperiment(ctx, Experiment{Name: "lr sweep"}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second create: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := s.CreateExperiment(ctx, Experiment{Name: " "}); !errors.Is(err, ErrInvalid) {
		t.Errorf("blank name: err = %v, want ErrInvalid", err)
	}
	got, err := s.GetExperiment(ctx, "lr sweep")
	if err != nil {
		t.Fatal(err)
	}
	want := Experiment{Name: "lr sweep", DisplayName: "lr sweep", Description: "learning rates", CreatedAt: sec(0), StorageState: StorageAvailable}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetExperiment (-want +got):\n%s", diff)
	}
	cm := fc.configMap(t, ExperimentObjectName("lr sweep"))
	if cm.Labels[LabelExperiment] != LabelValue("lr sweep") || cm.Labels[LabelKind] != KindExperiment || cm.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
		t.Errorf("labels = %v", cm.Labels)
	}
	if _, err := s.GetExperiment(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetExperiment(missing): err = %v, want ErrNotFound", err)
	}

	// The default experiment appears on first use and cannot be deleted.
	def, err := s.GetExperiment(ctx, DefaultExperiment)
	if err != nil || def.Name != DefaultExperiment {
		t.Fatalf("GetExperiment(Default) = %+v, %v", def, err)
	}
	if _, err := s.DeleteExperiment(ctx, DefaultExperiment, true); !errors.Is(err, ErrDefaultExperiment) {
		t.Errorf("delete Default: err = %v, want ErrDefaultExperiment", err)
	}

	for _, name := range []string{"run-a", "run-b"} {
		if _, err := s.CreateRun(ctx, Run{Name: name, Experiment: "lr sweep"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ArchiveExperiment(ctx, "lr sweep"); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, RunFilter{Experiment: "lr sweep", StorageState: StorageArchived})
	if err != nil || len(runs) != 2 {
		t.Errorf("archived runs after archiving the experiment = %d, %v; want 2", len(runs), err)
	}
	if _, err := s.CreateRun(ctx, Run{Name: "run-c", Experiment: "lr sweep"}); !errors.Is(err, ErrExperimentArchived) {
		t.Errorf("run in archived experiment: err = %v, want ErrExperimentArchived", err)
	}
	if _, _, err := s.SetRunStorageState(ctx, "run-a", StorageAvailable); !errors.Is(err, ErrExperimentArchived) {
		t.Errorf("unarchive run of archived experiment: err = %v, want ErrExperimentArchived", err)
	}
	if err := s.UnarchiveExperiment(ctx, "lr sweep"); err != nil {
		t.Fatal(err)
	}
	if r, wrote, err := s.SetRunStorageState(ctx, "run-a", StorageAvailable); err != nil || !wrote || r.StorageState != StorageAvailable {
		t.Errorf("unarchive run = %s, %v, %v", r.StorageState, wrote, err)
	}
	exps, err := s.ListExperiments(ctx, ExperimentFilter{})
	if err != nil || len(exps) != 2 || exps[0].Name != DefaultExperiment || exps[1].LastRunAt != sec(0) {
		t.Errorf("ListExperiments = %+v, %v", exps, err)
	}

	if _, err := s.DeleteExperiment(ctx, "lr sweep", false); !errors.Is(err, ErrExperimentHasRuns) {
		t.Errorf("delete with runs: err = %v, want ErrExperimentHasRuns", err)
	}
	deleted, err := s.DeleteExperiment(ctx, "lr sweep", true)
	if err != nil || len(deleted) != 2 {
		t.Errorf("delete with runs = %v, %v", deleted, err)
	}
	if _, err := s.GetRun(ctx, "run-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("run of deleted experiment: err = %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteExperiment(ctx, "lr sweep", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: err = %v, want ErrNotFound", err)
	}
}

func TestCreateRunLabelsAndDefaults(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	longPipeline := "My Pipeline: " + strings.Repeat("feature-engineering-", 4)
	r, err := s.CreateRun(ctx, Run{Name: "train-x7k2p", PipelineName: longPipeline, Parameters: map[string]string{"lr": "0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Experiment != DefaultExperiment || r.State != StatePending || len(r.History) != 1 || r.StorageState != StorageAvailable {
		t.Errorf("defaults not applied: %+v", r)
	}
	if _, err := s.GetExperiment(ctx, DefaultExperiment); err != nil {
		t.Errorf("Default experiment not created with the run: %v", err)
	}
	cm := fc.configMap(t, "kfp-argo.run.train-x7k2p")
	for k, v := range cm.Labels {
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("label %s=%q invalid: %v", k, v, errs)
		}
	}
	wantLabels := map[string]string{translate.LabelManagedBy: translate.ManagedByValue, LabelKind: KindRun, LabelRun: "train-x7k2p",
		LabelExperiment: DefaultExperiment, LabelState: "PENDING", LabelStorageState: "AVAILABLE", translate.LabelPipeline: LabelValue(longPipeline)}
	if diff := cmp.Diff(wantLabels, cm.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if !strings.Contains(cm.Data[DataKey], `"pipelineName":"My Pipeline: feature-engineering-`) {
		t.Errorf("real pipeline name not in data: %s", cm.Data[DataKey])
	}
	if cm.Annotations[AnnotationRecordEncoding] != "json" {
		t.Errorf("encoding annotation = %q", cm.Annotations[AnnotationRecordEncoding])
	}
	if _, err := s.CreateRun(ctx, Run{Name: "train-x7k2p"}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate run: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := s.CreateRun(ctx, Run{Name: "Not_A_Name"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad run name: err = %v, want ErrInvalid", err)
	}
}

func TestListRunsFilters(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	clock := sec(0)
	s := fc.store(WithClock(func() time.Time { clock = clock.Add(time.Minute); return clock }))
	seed := []Run{
		{Name: "a1", Experiment: "exp a", PipelineName: "train", State: StateSucceeded},
		{Name: "a2", Experiment: "exp a", PipelineName: "train", State: StateFailed},
		{Name: "a3", Experiment: "exp a", PipelineName: "eval", State: StateRunning},
		{Name: "b1", Experiment: "exp b", PipelineName: "train", State: StateSucceeded},
	}
	for _, r := range seed {
		r.History = []StateChange{{State: r.State}}
		if _, err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.SetRunStorageState(ctx, "a2", StorageArchived); err != nil {
		t.Fatal(err)
	}
	// A ConfigMap someone else labelled like ours must not break or join the list.
	if _, err := fc.cs.CoreV1().ConfigMaps(testNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "impostor", Labels: map[string]string{LabelKind: KindRun}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter RunFilter
		want   []string
	}{
		{"all, newest first", RunFilter{}, []string{"b1", "a3", "a2", "a1"}},
		{"experiment", RunFilter{Experiment: "exp a"}, []string{"a3", "a2", "a1"}},
		{"experiment and state", RunFilter{Experiment: "exp a", State: StateSucceeded}, []string{"a1"}},
		{"pipeline", RunFilter{Pipeline: "train"}, []string{"b1", "a2", "a1"}},
		{"available only", RunFilter{StorageState: StorageAvailable}, []string{"b1", "a3", "a1"}},
		{"archived only", RunFilter{StorageState: StorageArchived}, []string{"a2"}},
		{"selector", RunFilter{Selector: labels.SelectorFromSet(labels.Set{LabelState: "RUNNING"})}, []string{"a3"}},
		{"no such experiment", RunFilter{Experiment: "exp c"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range runs {
				names = append(names, r.Name)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListReportsUndecodableRecords(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	if _, err := s.CreateRun(ctx, Run{Name: "good"}); err != nil {
		t.Fatal(err)
	}
	future := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RunObjectName("future"),
		Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue, LabelKind: KindRun}},
		Data: map[string]string{DataKey: `{"schemaVersion":4,"kind":"run"}`}}
	if _, err := fc.cs.CoreV1().ConfigMaps(testNS).Create(ctx, future, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, RunFilter{})
	if !errors.Is(err, ErrUnsupportedSchema) || !strings.Contains(err.Error(), RunObjectName("future")) {
		t.Errorf("err = %v, want ErrUnsupportedSchema naming the ConfigMap", err)
	}
	if len(runs) != 1 || runs[0].Name != "good" {
		t.Errorf("readable runs = %+v, want [good]", runs)
	}
	if _, err := s.GetRun(ctx, "future"); !errors.Is(err, ErrUnsupportedSchema) {
		t.Errorf("GetRun(future): err = %v, want ErrUnsupportedSchema", err)
	}
}

func TestUpdateRunWritesOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	if _, err := s.CreateRun(ctx, Run{Name: "r1", Parameters: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		mutate    func(*Run) error
		wantWrote bool
		wantErr   error
	}{
		{"no change", func(r *Run) error { return nil }, false, nil},
		{"same value again", func(r *Run) error { r.Parameters["a"] = "1"; return nil }, false, nil},
		{"new parameter", func(r *Run) error { r.Parameters["b"] = "2"; return nil }, true, nil},
		{"state change", func(r *Run) error {
			r.State = StateRunning
			r.History = append(r.History, StateChange{State: StateRunning, Time: sec(5)})
			return nil
		}, true, nil},
		{"mutate error", func(r *Run) error { return errors.New("boom") }, false, nil},
		{"history would shrink", func(r *Run) error { r.History = r.History[:1]; r.State = r.History[0].State; return nil }, false, ErrInvalid},
		{"state without history", func(r *Run) error { r.State = StateFailed; return nil }, false, ErrInvalid},
		{"rename", func(r *Run) error { r.Name = "r2"; return nil }, false, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := fc.updates.Load()
			_, wrote, err := s.UpdateRun(ctx, "r1", tc.mutate)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.name == "mutate error" && (err == nil || !strings.Contains(err.Error(), `update run "r1": boom`)) {
				t.Errorf("err = %v, want the mutate error with context", err)
			}
			if wrote != tc.wantWrote {
				t.Errorf("wrote = %v, want %v", wrote, tc.wantWrote)
			}
			if got := fc.updates.Load() - before; (got > 0) != tc.wantWrote {
				t.Errorf("%d update calls reached the API, wrote=%v", got, tc.wantWrote)
			}
		})
	}
	if _, _, err := s.UpdateRun(ctx, "missing", func(*Run) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteRun(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: err = %v, want ErrNotFound", err)
	}
}

func TestTerminalRunStaysTerminal(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	if _, err := s.CreateRun(ctx, Run{Name: "done", State: StateSucceeded}); err != nil {
		t.Fatal(err)
	}
	reopen := func(r *Run) error {
		r.State = StateRunning
		r.History = append(r.History, StateChange{State: StateRunning, Time: sec(9)})
		return nil
	}
	if _, _, err := s.UpdateRun(ctx, "done", reopen); !errors.Is(err, ErrInvalid) {
		t.Errorf("terminal -> RUNNING without retry: err = %v, want ErrInvalid", err)
	}
	r, wrote, err := s.UpdateRun(ctx, "done", func(r *Run) error { r.RetryCount = 1; return reopen(r) })
	if err != nil || !wrote || r.State != StateRunning {
		t.Errorf("terminal -> RUNNING with retry: %s, %v, %v", r.State, wrote, err)
	}
}

func TestUpdateRunRetriesInjectedConflict(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store(WithBackoff(wait.Backoff{Steps: 5, Duration: time.Millisecond}))
	if _, err := s.CreateRun(ctx, Run{Name: "r1"}); err != nil {
		t.Fatal(err)
	}
	// Another writer slips in before each of our first two writes: bump the stored object so that the
	// resourceVersion we read is stale when we write.
	var injected atomic.Int64
	other := fc.cs.CoreV1().ConfigMaps(testNS)
	var mutations []string
	fc.cs.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if injected.Add(1) > 2 {
			return false, nil, nil
		}
		return true, nil, apierrors.NewConflict(configMapsGVR.GroupResource(), a.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).Name, errors.New("injected"))
	})
	r, wrote, err := s.UpdateRun(ctx, "r1", func(r *Run) error {
		mutations = append(mutations, r.DisplayName)
		r.DisplayName = "renamed"
		return nil
	})
	if err != nil || !wrote || r.DisplayName != "renamed" {
		t.Fatalf("UpdateRun = %q, %v, %v", r.DisplayName, wrote, err)
	}
	if len(mutations) != 3 || mutations[0] != "r1" || mutations[2] != "r1" {
		t.Errorf("mutate saw %q, want three fresh reads of the stored record", mutations)
	}
	cm, err := other.Get(ctx, RunObjectName("r1"), metav1.GetOptions{})
	if err != nil || !strings.Contains(cm.Data[DataKey], `"displayName":"renamed"`) {
		t.Errorf("stored record not updated: %v %v", cm.Data, err)
	}

	// A writer that always wins exhausts the retries: the error says conflict, typed.
	always := newFakeCluster(t)
	s2 := always.store(WithBackoff(wait.Backoff{Steps: 3, Duration: time.Millisecond}))
	if _, err := s2.CreateRun(ctx, Run{Name: "r1"}); err != nil {
		t.Fatal(err)
	}
	always.cs.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(configMapsGVR.GroupResource(), "x", errors.New("injected"))
	})
	_, wrote, err = s2.UpdateRun(ctx, "r1", func(r *Run) error { r.DisplayName = "x"; return nil })
	if !errors.Is(err, ErrConflict) || !apierrors.IsConflict(errors.Unwrap(errors.Unwrap(err))) && !strings.Contains(err.Error(), "injected") || wrote {
		t.Errorf("exhausted retries: err = %v, wrote = %v; want ErrConflict with the API error", err, wrote)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	if _, err := s.CreateRun(ctx, Run{Name: "shared", Parameters: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	const writers = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, wrote, err := s.UpdateRun(ctx, "shared", func(r *Run) error {
				if r.Parameters == nil {
					r.Parameters = map[string]string{}
				}
				r.Parameters[fmt.Sprintf("w%02d", i)] = "x"
				return nil
			})
			if err == nil && !wrote {
				err = fmt.Errorf("writer %d: nothing written", i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	r, err := s.GetRun(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Parameters) != writers {
		t.Errorf("%d of %d writes survived: %v", len(r.Parameters), writers, r.Parameters)
	}
	if fc.updates.Load() <= writers {
		t.Logf("only %d update calls: the test did not provoke conflicts", fc.updates.Load())
	}
}

func TestReconcileRun(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: "train-x7k2p", Namespace: testNS, UID: types.UID("uid-1"), CreationTimestamp: metav1.NewTime(sec(0)),
			Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue, LabelRun: "train-x7k2p", LabelExperiment: LabelValue("lr sweep")},
			Annotations: map[string]string{AnnotationExperiment: "lr sweep", translate.AnnotationPipelineName: "train", translate.AnnotationIRDigest: "sha256:00",
				translate.AnnotationParameters: `{"lr":"0.1"}`}},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, StartedAt: metav1.NewTime(sec(1))},
	}
	r, wrote, err := s.ReconcileRun(ctx, wf)
	if err != nil || !wrote {
		t.Fatalf("first reconcile = %v, %v", wrote, err)
	}
	if r.Experiment != "lr sweep" || r.PipelineName != "train" || r.Parameters["lr"] != "0.1" || r.State != StateRunning || r.Workflow.UID != "uid-1" {
		t.Errorf("record rebuilt from the workflow: %+v", r)
	}
	if _, wrote, err := s.ReconcileRun(ctx, wf); err != nil || wrote {
		t.Errorf("unchanged workflow: wrote = %v, err = %v; want no write", wrote, err)
	}
	done := wf.DeepCopy()
	done.Status.Phase, done.Status.FinishedAt = wfv1.WorkflowSucceeded, metav1.NewTime(sec(60))
	if r, wrote, err := s.ReconcileRun(ctx, done); err != nil || !wrote || r.State != StateSucceeded {
		t.Errorf("finished workflow: %s, %v, %v", r.State, wrote, err)
	}
	if r, wrote, err := s.ReconcileRun(ctx, wf); err != nil || wrote || r.State != StateSucceeded {
		t.Errorf("stale RUNNING status after SUCCEEDED: %s, wrote=%v, %v; want no change", r.State, wrote, err)
	}
	other := wf.DeepCopy()
	other.UID = "uid-2"
	if _, _, err := s.ReconcileRun(ctx, other); !errors.Is(err, ErrWorkflowMismatch) {
		t.Errorf("workflow with another UID: err = %v, want ErrWorkflowMismatch", err)
	}
	if r, wrote, err := s.MarkRunWorkflowDeleted(ctx, "train-x7k2p", "gone"); err != nil || wrote || r.State != StateSucceeded {
		t.Errorf("deleting after the final state: %s, %v, %v; want SUCCEEDED kept", r.State, wrote, err)
	}

	if _, _, err := s.ReconcileRun(ctx, &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "lost-run", UID: "uid-3"},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning}}); err != nil {
		t.Fatal(err)
	}
	r, wrote, err = s.MarkRunWorkflowDeleted(ctx, "lost-run", "workflow deleted by TTL while sync was down")
	if err != nil || !wrote || r.State != StateWorkflowDeleted || r.Error != "workflow deleted by TTL while sync was down" {
		t.Errorf("MarkRunWorkflowDeleted = %s %q, %v, %v", r.State, r.Error, wrote, err)
	}
}

func TestStoreLargeRun(t *testing.T) {
	ctx := context.Background()
	fc := newFakeCluster(t)
	s := fc.store()
	big := bigRun(5000)
	created, err := s.CreateRun(ctx, *big)
	if err != nil {
		t.Fatal(err)
	}
	if !created.Encoding.Compressed || !created.Encoding.Compacted {
		t.Errorf("encoding after create = %+v, want compacted and compressed", created.Encoding)
	}
	cm := fc.configMap(t, RunObjectName(big.Name))
	if cm.Data[DataKey] != "" || len(cm.BinaryData[BinaryDataKey]) == 0 || cm.Annotations[AnnotationRecordEncoding] != "json+columns+gzip" {
		t.Errorf("large record stored as data=%d bytes binaryData=%d bytes, annotation %q", len(cm.Data[DataKey]),
			len(cm.BinaryData[BinaryDataKey]), cm.Annotations[AnnotationRecordEncoding])
	}
	got, err := s.GetRun(ctx, big.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*big, got, ignoreEncoding); diff != "" {
		t.Errorf("large run round trip (-want +got):\n%.2000s", diff)
	}
	if _, wrote, err := s.UpdateRun(ctx, big.Name, func(*Run) error { return nil }); err != nil || wrote {
		t.Errorf("no-op update of a compressed record: wrote=%v err=%v", wrote, err)
	}
}
