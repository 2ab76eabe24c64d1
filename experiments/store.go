package experiments

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"github.com/kfp-argo/kfp-argo/translate"
)

// Errors returned by Store, matched with errors.Is. The API server's error is wrapped alongside when
// there is one.
const (
	ErrNotFound           = sentinel("not found")
	ErrAlreadyExists      = sentinel("already exists")
	ErrConflict           = sentinel("conflicting concurrent update")
	ErrInvalid            = sentinel("invalid record")
	ErrDefaultExperiment  = sentinel("the default experiment cannot be deleted")
	ErrExperimentHasRuns  = sentinel("experiment has runs")
	ErrExperimentArchived = sentinel("experiment is archived")
	// ErrWorkflowMismatch: the record belongs to an earlier Workflow of the same name (another UID).
	ErrWorkflowMismatch = sentinel("record belongs to another workflow of the same name")
)

// listPageSize bounds each List call so that a namespace with thousands of records is read in pages.
const listPageSize = 250

// DefaultBackoff is how often a write is retried on conflict. It is more patient than
// retry.DefaultRetry because the CLI and the sync controller update the same records concurrently.
func DefaultBackoff() wait.Backoff {
	return wait.Backoff{Steps: 20, Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 1.0, Cap: 2 * time.Second}
}

// Store keeps experiment and run records in the ConfigMaps of one namespace, in the manner of Helm's
// ConfigMap storage driver: one object per record, labels for queries, the record in data.
type Store struct {
	cms     typedcorev1.ConfigMapInterface
	now     func() time.Time
	limits  Limits
	backoff wait.Backoff
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) Option { return func(s *Store) { s.limits = l } }

// WithBackoff replaces DefaultBackoff.
func WithBackoff(b wait.Backoff) Option { return func(s *Store) { s.backoff = b } }

// NewStore returns a Store over cms, which fixes the namespace.
func NewStore(cms typedcorev1.ConfigMapInterface, opts ...Option) *Store {
	s := &Store{cms: cms, now: time.Now, limits: DefaultLimits(), backoff: DefaultBackoff()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock returns the current time as records keep it: UTC, whole seconds (what Argo records, and what
// compacted rows can hold).
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// ---- experiments ----

// CreateExperiment creates an experiment record; the name must be free.
func (s *Store) CreateExperiment(ctx context.Context, e Experiment) (Experiment, error) {
	if err := ValidateExperimentName(e.Name); err != nil {
		return Experiment{}, fmt.Errorf("create experiment: %w: %w", ErrInvalid, err)
	}
	if e.DisplayName == "" {
		e.DisplayName = e.Name
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.clock()
	}
	if e.StorageState == "" {
		e.StorageState = StorageAvailable
	}
	if err := s.create(ctx, &e, ExperimentObjectName(e.Name)); err != nil {
		return Experiment{}, fmt.Errorf("create experiment %q: %w", e.Name, err)
	}
	return e, nil
}

// GetExperiment reads an experiment. The default experiment is created on first use.
func (s *Store) GetExperiment(ctx context.Context, name string) (Experiment, error) {
	e, err := s.getExperiment(ctx, name)
	if errors.Is(err, ErrNotFound) && name == DefaultExperiment {
		return s.EnsureDefaultExperiment(ctx)
	}
	return e, err
}

// ResolveExperiment returns the name of the experiment that ref names: an experiment name, or the ref that
// `-o name` prints (ExperimentRef), with or without its "experiment/" prefix. An unknown ref is returned as
// it is (without the prefix), so that "not found" is reported, or a new experiment created, under it.
func (s *Store) ResolveExperiment(ctx context.Context, ref string) (string, error) {
	if _, err := s.getExperiment(ctx, ref); err == nil || !errors.Is(err, ErrNotFound) {
		return ref, err
	}
	name := strings.TrimPrefix(ref, "experiment/")
	if name != ref {
		if _, err := s.getExperiment(ctx, name); err == nil || !errors.Is(err, ErrNotFound) {
			return name, err
		}
	}
	if len(validation.IsDNS1123Label(name)) != 0 {
		return name, nil
	}
	rec, _, err := s.get(ctx, experimentObjectPrefix+name)
	if errors.Is(err, ErrNotFound) {
		return name, nil
	}
	if err != nil {
		return "", fmt.Errorf("get experiment %q: %w", name, err)
	}
	if e, ok := rec.(*Experiment); ok && ExperimentRef(e.Name) == name {
		return e.Name, nil
	}
	return name, nil
}

func (s *Store) getExperiment(ctx context.Context, name string) (Experiment, error) {
	rec, _, err := s.get(ctx, ExperimentObjectName(name))
	if err != nil {
		return Experiment{}, fmt.Errorf("get experiment %q: %w", name, err)
	}
	e, ok := rec.(*Experiment)
	if !ok || e.Name != name {
		// Two names that sanitize to one object name: the object is the other one's.
		return Experiment{}, fmt.Errorf("get experiment %q: %w", name, ErrNotFound)
	}
	return *e, nil
}

// EnsureDefaultExperiment returns the namespace's default experiment, creating it if needed.
func (s *Store) EnsureDefaultExperiment(ctx context.Context) (Experiment, error) {
	e, err := s.getExperiment(ctx, DefaultExperiment)
	if !errors.Is(err, ErrNotFound) {
		return e, err
	}
	e, err = s.CreateExperiment(ctx, Experiment{Name: DefaultExperiment, DisplayName: DefaultExperiment,
		Description: "Runs that name no experiment."})
	if errors.Is(err, ErrAlreadyExists) {
		// Created concurrently by another client: theirs is as good as ours.
		return s.getExperiment(ctx, DefaultExperiment)
	}
	return e, err
}

// ExperimentFilter selects experiments in ListExperiments; zero fields select everything.
type ExperimentFilter struct {
	StorageState StorageState
	// Selector adds label requirements to the ones the filter implies.
	Selector labels.Selector
}

// ListExperiments returns the matching experiments by name. Records that cannot be decoded are reported
// in the error, and the readable ones are still returned.
func (s *Store) ListExperiments(ctx context.Context, f ExperimentFilter) ([]Experiment, error) {
	set := labels.Set{translate.LabelManagedBy: translate.ManagedByValue, LabelKind: KindExperiment}
	if f.StorageState != "" {
		set[LabelStorageState] = string(f.StorageState)
	}
	recs, err := s.list(ctx, set, f.Selector)
	var out []Experiment
	for _, rec := range recs {
		if e, ok := rec.(*Experiment); ok && (f.StorageState == "" || e.StorageState == f.StorageState) {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if err != nil {
		return out, fmt.Errorf("list experiments: %w", err)
	}
	return out, nil
}

// UpdateExperiment applies mutate to the current record and writes it back if it changed, retrying on
// conflict; wrote says whether a write happened.
func (s *Store) UpdateExperiment(ctx context.Context, name string, mutate func(*Experiment) error) (e Experiment, wrote bool, err error) {
	rec, wrote, err := s.update(ctx, ExperimentObjectName(name), func(rec Record) (Record, error) {
		cur, ok := rec.(*Experiment)
		if !ok || cur.Name != name {
			return nil, ErrNotFound
		}
		next := *cur
		if err := mutate(&next); err != nil {
			return nil, err
		}
		if next.Name != cur.Name {
			return nil, fmt.Errorf("%w: name cannot change (%q -> %q)", ErrInvalid, cur.Name, next.Name)
		}
		if next.StorageState != StorageAvailable && next.StorageState != StorageArchived {
			return nil, fmt.Errorf("%w: storage state %q", ErrInvalid, next.StorageState)
		}
		return &next, nil
	})
	if err != nil {
		return Experiment{}, false, fmt.Errorf("update experiment %q: %w", name, err)
	}
	return *rec.(*Experiment), wrote, nil
}

// ArchiveExperiment archives an experiment and all its runs, as KFP does.
func (s *Store) ArchiveExperiment(ctx context.Context, name string) error {
	if _, _, err := s.UpdateExperiment(ctx, name, func(e *Experiment) error {
		e.StorageState = StorageArchived
		return nil
	}); err != nil {
		return fmt.Errorf("archive experiment: %w", err)
	}
	runs, err := s.ListRuns(ctx, RunFilter{Experiment: name, StorageState: StorageAvailable})
	if err != nil {
		return fmt.Errorf("archive experiment %q: %w", name, err)
	}
	var errs []error
	for _, r := range runs {
		if _, _, err := s.SetRunStorageState(ctx, r.Name, StorageArchived); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("archive experiment %q: %w", name, err)
	}
	return nil
}

// UnarchiveExperiment makes an experiment available again; its runs stay archived until unarchived one by
// one, as in KFP.
func (s *Store) UnarchiveExperiment(ctx context.Context, name string) error {
	if _, _, err := s.UpdateExperiment(ctx, name, func(e *Experiment) error {
		e.StorageState = StorageAvailable
		return nil
	}); err != nil {
		return fmt.Errorf("unarchive experiment: %w", err)
	}
	return nil
}

// DeleteExperiment deletes an experiment record. It refuses while the experiment has runs unless withRuns,
// in which case the run records go first (their Workflows are the caller's business) and their names are
// returned. The default experiment cannot be deleted.
func (s *Store) DeleteExperiment(ctx context.Context, name string, withRuns bool) ([]string, error) {
	if name == DefaultExperiment {
		return nil, fmt.Errorf("delete experiment %q: %w", name, ErrDefaultExperiment)
	}
	if _, err := s.getExperiment(ctx, name); err != nil {
		return nil, fmt.Errorf("delete experiment: %w", err)
	}
	runs, err := s.ListRuns(ctx, RunFilter{Experiment: name})
	if err != nil {
		return nil, fmt.Errorf("delete experiment %q: %w", name, err)
	}
	if len(runs) > 0 && !withRuns {
		return nil, fmt.Errorf("delete experiment %q: %w (%d); delete them first or delete with runs", name, ErrExperimentHasRuns, len(runs))
	}
	var deleted []string
	for _, r := range runs {
		if err := s.DeleteRun(ctx, r.Name); err != nil && !errors.Is(err, ErrNotFound) {
			return deleted, fmt.Errorf("delete experiment %q: %w", name, err)
		}
		deleted = append(deleted, r.Name)
	}
	if err := s.delete(ctx, ExperimentObjectName(name)); err != nil {
		return deleted, fmt.Errorf("delete experiment %q: %w", name, err)
	}
	return deleted, nil
}

// ---- runs ----

// CreateRun creates a run record. The run's experiment (Default when empty) is created if missing, as
// the KFP client does, and must not be archived; its last run time is advanced.
func (s *Store) CreateRun(ctx context.Context, r Run) (Run, error) {
	return s.createRun(ctx, r, false)
}

func (s *Store) createRun(ctx context.Context, r Run, allowArchived bool) (Run, error) {
	validate := ValidateRunName
	if allowArchived {
		// Records that sync writes follow Workflows that exist already (or the runs they superseded).
		validate = validateRecordName
	}
	if err := validate(r.Name); err != nil {
		return Run{}, fmt.Errorf("create run: %w: %w", ErrInvalid, err)
	}
	if r.Experiment == "" {
		r.Experiment = DefaultExperiment
	}
	now := s.clock()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.State == "" {
		r.State = StatePending
	}
	if len(r.History) == 0 {
		r.History = []StateChange{{State: r.State, Time: r.CreatedAt}}
	}
	if r.StorageState == "" {
		r.StorageState = StorageAvailable
	}
	if r.DisplayName == "" {
		r.DisplayName = r.Name
	}
	if r.Workflow.Name == "" {
		r.Workflow.Name = r.Name
	}
	if err := checkRun(&r); err != nil {
		return Run{}, fmt.Errorf("create run %q: %w", r.Name, err)
	}
	exp, err := s.GetExperiment(ctx, r.Experiment)
	if errors.Is(err, ErrNotFound) {
		exp, err = s.CreateExperiment(ctx, Experiment{Name: r.Experiment})
		if errors.Is(err, ErrAlreadyExists) {
			exp, err = s.getExperiment(ctx, r.Experiment)
		}
	}
	if err != nil {
		return Run{}, fmt.Errorf("create run %q: %w", r.Name, err)
	}
	if exp.StorageState == StorageArchived && !allowArchived {
		return Run{}, fmt.Errorf("create run %q in experiment %q: %w; unarchive it first", r.Name, r.Experiment, ErrExperimentArchived)
	}
	if err := s.create(ctx, &r, RunObjectName(r.Name)); err != nil {
		return Run{}, fmt.Errorf("create run %q: %w", r.Name, err)
	}
	if _, _, err := s.UpdateExperiment(ctx, r.Experiment, func(e *Experiment) error {
		if r.CreatedAt.After(e.LastRunAt) {
			e.LastRunAt = r.CreatedAt
		}
		return nil
	}); err != nil {
		return r, fmt.Errorf("run %q created, but not the last run time of its experiment: %w", r.Name, err)
	}
	return r, nil
}

// GetRun reads a run record.
func (s *Store) GetRun(ctx context.Context, name string) (Run, error) {
	rec, _, err := s.get(ctx, RunObjectName(name))
	if err != nil {
		return Run{}, fmt.Errorf("get run %q: %w", name, err)
	}
	r, ok := rec.(*Run)
	if !ok {
		return Run{}, fmt.Errorf("get run %q: %w: object holds a %s record", name, ErrInvalid, rec.recordKind())
	}
	return *r, nil
}

// RunFilter selects runs in ListRuns; zero fields select everything.
type RunFilter struct {
	Experiment string
	Pipeline   string
	// PipelineVersion narrows Pipeline to one version.
	PipelineVersion string
	RecurringRun    string
	State           State
	StorageState    StorageState
	// Selector adds label requirements (kubectl-style -l) to the ones the filter implies.
	Selector labels.Selector
}

// ListRuns returns the matching runs, newest first. Labels narrow the query on the server; the real
// experiment and pipeline names in the records decide, so two names that sanitize alike never mix.
// Records that cannot be decoded are reported in the error, and the readable ones are still returned.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	set := labels.Set{translate.LabelManagedBy: translate.ManagedByValue, LabelKind: KindRun}
	if f.Experiment != "" {
		set[LabelExperiment] = LabelValue(f.Experiment)
	}
	if f.Pipeline != "" {
		set[translate.LabelPipeline] = LabelValue(f.Pipeline)
	}
	if f.PipelineVersion != "" {
		set[LabelPipelineVersion] = LabelValue(f.PipelineVersion)
	}
	if f.RecurringRun != "" {
		set[LabelRecurringRun] = LabelValue(f.RecurringRun)
	}
	if f.State != "" {
		set[LabelState] = string(f.State)
	}
	if f.StorageState != "" {
		set[LabelStorageState] = string(f.StorageState)
	}
	recs, err := s.list(ctx, set, f.Selector)
	var out []Run
	for _, rec := range recs {
		r, ok := rec.(*Run)
		if !ok || (f.Experiment != "" && r.Experiment != f.Experiment) || (f.Pipeline != "" && r.PipelineName != f.Pipeline) ||
			(f.PipelineVersion != "" && r.PipelineVersion != f.PipelineVersion) || (f.RecurringRun != "" && r.RecurringRun != f.RecurringRun) ||
			(f.State != "" && r.State != f.State) || (f.StorageState != "" && r.StorageState != f.StorageState) {
			continue
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].Name < out[j].Name
	})
	if err != nil {
		return out, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// UpdateRun applies mutate to the current record and writes it back if it changed, retrying on conflict
// with a fresh read each time; wrote says whether a write happened. The write is refused if it would
// shrink the state history or move a terminal run to another state without a retry.
func (s *Store) UpdateRun(ctx context.Context, name string, mutate func(*Run) error) (r Run, wrote bool, err error) {
	rec, wrote, err := s.update(ctx, RunObjectName(name), func(rec Record) (Record, error) {
		cur, ok := rec.(*Run)
		if !ok {
			return nil, fmt.Errorf("%w: object holds a %s record", ErrInvalid, rec.recordKind())
		}
		next := cur.DeepCopy()
		if err := mutate(next); err != nil {
			return nil, err
		}
		if err := checkRunUpdate(cur, next); err != nil {
			return nil, err
		}
		return next, nil
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("update run %q: %w", name, err)
	}
	return *rec.(*Run), wrote, nil
}

// ReconcileRun brings the record of wf's run up to date with wf, creating it from wf's labels and
// annotations if it is missing. It writes only when the record changes.
//
// A Workflow on its way out (deletionTimestamp set) never gets a new record: `run delete` deletes the
// Workflow in the foreground and then its record, so such a Workflow without a record is a run that was
// deleted. ReconcileRun then returns ErrNotFound.
//
// wf must be what the API server had after any deletion of the run's record; a Workflow read earlier goes
// through AdoptRun.
func (s *Store) ReconcileRun(ctx context.Context, wf *wfv1.Workflow) (Run, bool, error) {
	r, _, wrote, err := s.reconcileRun(ctx, wf)
	return r, wrote, err
}

// LiveWorkflow reads a Workflow from the API server (not a cache); nil, nil when it does not exist.
type LiveWorkflow func(ctx context.Context, name string) (*wfv1.Workflow, error)

// AdoptRun is ReconcileRun for a Workflow read at some earlier point (a list, a get, an informer's cache).
// `run delete` may have removed the Workflow and then its record since, and no read can be made atomic with
// the create that follows it. So a record created here is checked against live afterwards: it stays only if
// the API server still has that very Workflow, not being deleted. `run delete` deletes the Workflow before
// the record, so a create that comes after the record's deletion always sees the Workflow gone (or going)
// in the check, and a create before it is removed by that deletion.
func (s *Store) AdoptRun(ctx context.Context, wf *wfv1.Workflow, live LiveWorkflow) (Run, bool, error) {
	r, created, wrote, err := s.reconcileRun(ctx, wf)
	if err != nil || !created {
		return r, wrote, err
	}
	cur, err := live(ctx, wf.Name)
	if err == nil && cur != nil && cur.UID == wf.UID && cur.DeletionTimestamp == nil {
		return r, true, nil
	}
	if uerr := s.undoCreate(ctx, wf); uerr != nil {
		return Run{}, false, fmt.Errorf("reconcile run from workflow %q: %w", wf.Name, uerr)
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("reconcile run from workflow %q: confirm it still exists: %w", wf.Name, err)
	}
	return Run{}, false, fmt.Errorf("reconcile run from workflow %q: %w: the workflow was deleted (or replaced) meanwhile", wf.Name, ErrNotFound)
}

// undoCreate deletes the record of wf's execution that AdoptRun created, unless the object under its name
// is by now another one (re-created for a newer Workflow).
func (s *Store) undoCreate(ctx context.Context, wf *wfv1.Workflow) error {
	cm, err := s.cms.Get(ctx, RunObjectName(wf.Name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := decodeConfigMap(cm, s.limits)
	if err != nil {
		return err
	}
	if r, ok := rec.(*Run); !ok || r.Workflow.UID != string(wf.UID) {
		return nil
	}
	uid := cm.UID
	err = s.cms.Delete(ctx, cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// reconcileRun is ReconcileRun that also says whether it created the record.
func (s *Store) reconcileRun(ctx context.Context, wf *wfv1.Workflow) (r Run, created, wrote bool, err error) {
	if _, err := s.GetRun(ctx, wf.Name); errors.Is(err, ErrNotFound) {
		if wf.DeletionTimestamp != nil {
			return Run{}, false, false, fmt.Errorf("reconcile run from workflow %q: being deleted without a record (a deleted run): %w", wf.Name, err)
		}
		r, err := s.createRun(ctx, MapWorkflow(wf, nil, s.clock()), true)
		if err == nil {
			return r, true, true, nil
		}
		if !errors.Is(err, ErrAlreadyExists) {
			return Run{}, false, false, fmt.Errorf("reconcile run from workflow %q: %w", wf.Name, err)
		}
	} else if err != nil {
		return Run{}, false, false, fmt.Errorf("reconcile run from workflow %q: %w", wf.Name, err)
	}
	r, wrote, err = s.SyncRun(ctx, wf)
	return r, false, wrote, err
}

// SyncRun is ReconcileRun for a record that exists: it never creates one, and returns ErrNotFound when the
// record is gone. A Workflow seen only in a delete event or a cache that may be stale must go through here:
// its missing record was deleted with the run (`run delete`), and must stay deleted.
func (s *Store) SyncRun(ctx context.Context, wf *wfv1.Workflow) (Run, bool, error) {
	r, wrote, err := s.UpdateRun(ctx, wf.Name, func(cur *Run) error {
		if !SameExecution(cur, wf) {
			return fmt.Errorf("%w (record %s, workflow %s)", ErrWorkflowMismatch, cur.Workflow.UID, wf.UID)
		}
		*cur = MapWorkflow(wf, cur, s.clock())
		return nil
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("reconcile run from workflow %q: %w", wf.Name, err)
	}
	return r, wrote, nil
}

// SupersedeRun handles a Workflow that took over the name of an earlier run: deleted and created again
// outside kfp-argo (GitOps, `argo submit` of a fixed name), so that its UID is not the record's and its retry
// count does not make it the run's next attempt. The earlier run ends (its final state from last, the
// earlier Workflow's last known state when the caller has it, else WORKFLOW_DELETED) and is kept under
// SupersededRunName; then wf gets the run's record. wf must be what the API server has now, not a cached
// copy, which could be the earlier Workflow itself; a record of wf's own execution is just synced.
func (s *Store) SupersedeRun(ctx context.Context, wf, last *wfv1.Workflow, live LiveWorkflow) (Run, bool, error) {
	cm, err := s.cms.Get(ctx, RunObjectName(wf.Name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return s.AdoptRun(ctx, wf, live)
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("supersede run %q: %w", wf.Name, err)
	}
	rec, err := decodeConfigMap(cm, s.limits)
	if err != nil {
		return Run{}, false, fmt.Errorf("supersede run %q: %w", wf.Name, err)
	}
	cur, ok := rec.(*Run)
	if !ok {
		return Run{}, false, fmt.Errorf("supersede run %q: %w: object holds a %s record", wf.Name, ErrInvalid, rec.recordKind())
	}
	if SameExecution(cur, wf) {
		return s.SyncRun(ctx, wf)
	}
	now := s.clock()
	ended := *cur.DeepCopy()
	if last != nil && string(last.UID) == ended.Workflow.UID {
		ended = MapWorkflow(last, &ended, now)
	}
	ended = MarkWorkflowDeleted(ended, fmt.Sprintf("workflow re-created under the same name (uid %s) before this run's final state was recorded", wf.UID), now)
	ended.Name = SupersededRunName(cur.Name, cur.Workflow.UID)
	if _, err := s.createRun(ctx, ended, true); err != nil && !errors.Is(err, ErrAlreadyExists) {
		return Run{}, false, fmt.Errorf("supersede run %q: keep the earlier run as %q: %w", wf.Name, ended.Name, err)
	}
	// The earlier run is safe under its new name: its record gives way to wf's, unless someone changed it
	// meanwhile (then the next reconcile looks again).
	rv, uid := cm.ResourceVersion, cm.UID
	err = s.cms.Delete(ctx, cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) {
		return Run{}, false, fmt.Errorf("supersede run %q: %w", wf.Name, err)
	}
	r, _, err := s.AdoptRun(ctx, wf, live)
	if err != nil {
		return Run{}, false, fmt.Errorf("supersede run %q: %w", wf.Name, err)
	}
	return r, true, nil
}

// MarkRunWorkflowDeleted moves a run whose Workflow is gone to StateWorkflowDeleted, unless it is already
// terminal (see MarkWorkflowDeleted).
func (s *Store) MarkRunWorkflowDeleted(ctx context.Context, name, reason string) (Run, bool, error) {
	return s.UpdateRun(ctx, name, func(r *Run) error {
		*r = MarkWorkflowDeleted(*r, reason, s.clock())
		return nil
	})
}

// SetRunStorageState archives or unarchives a run. A run cannot be unarchived into an archived experiment.
func (s *Store) SetRunStorageState(ctx context.Context, name string, st StorageState) (Run, bool, error) {
	if st != StorageAvailable && st != StorageArchived {
		return Run{}, false, fmt.Errorf("set storage state of run %q: %w: %q", name, ErrInvalid, st)
	}
	if st == StorageAvailable {
		r, err := s.GetRun(ctx, name)
		if err != nil {
			return Run{}, false, fmt.Errorf("unarchive: %w", err)
		}
		e, err := s.getExperiment(ctx, r.Experiment)
		if err == nil && e.StorageState == StorageArchived {
			return Run{}, false, fmt.Errorf("unarchive run %q: %w (%q); unarchive the experiment first", name, ErrExperimentArchived, e.Name)
		}
	}
	return s.UpdateRun(ctx, name, func(r *Run) error {
		r.StorageState = st
		return nil
	})
}

// DeleteRun deletes a run record (not its Workflow).
func (s *Store) DeleteRun(ctx context.Context, name string) error {
	if err := s.delete(ctx, RunObjectName(name)); err != nil {
		return fmt.Errorf("delete run %q: %w", name, err)
	}
	return nil
}

// checkRun checks what every stored run must satisfy.
func checkRun(r *Run) error {
	if !r.State.Valid() {
		return fmt.Errorf("%w: state %q", ErrInvalid, r.State)
	}
	if n := len(r.History); n > 0 && r.History[n-1].State != r.State {
		return fmt.Errorf("%w: state %s but history ends in %s", ErrInvalid, r.State, r.History[n-1].State)
	}
	if r.StorageState != StorageAvailable && r.StorageState != StorageArchived {
		return fmt.Errorf("%w: storage state %q", ErrInvalid, r.StorageState)
	}
	return nil
}

// checkRunUpdate guards the invariants concurrent writers (CLI, sync) rely on.
func checkRunUpdate(cur, next *Run) error {
	if next.Name != cur.Name {
		return fmt.Errorf("%w: name cannot change (%q -> %q)", ErrInvalid, cur.Name, next.Name)
	}
	if err := checkRun(next); err != nil {
		return err
	}
	if len(next.History) < len(cur.History) {
		return fmt.Errorf("%w: state history would shrink from %d to %d entries", ErrInvalid, len(cur.History), len(next.History))
	}
	for i, h := range cur.History {
		n := next.History[i]
		if n.State != h.State || !n.Time.Equal(h.Time) || n.Reason != h.Reason {
			return fmt.Errorf("%w: state history entry %d would change", ErrInvalid, i)
		}
	}
	if cur.State.Terminal() && next.State != cur.State && next.RetryCount <= cur.RetryCount {
		return fmt.Errorf("%w: run is %s (terminal); only a retry can move it to %s", ErrInvalid, cur.State, next.State)
	}
	return nil
}

// ---- ConfigMap plumbing ----

func (s *Store) get(ctx context.Context, objName string) (Record, *corev1.ConfigMap, error) {
	cm, err := s.cms.Get(ctx, objName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err != nil {
		return nil, nil, err
	}
	rec, err := decodeConfigMap(cm, s.limits)
	if err != nil {
		return nil, nil, err
	}
	return rec, cm, nil
}

func decodeConfigMap(cm *corev1.ConfigMap, lim Limits) (Record, error) {
	if cm.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
		return nil, fmt.Errorf("%w: ConfigMap %s is not managed by %s", ErrNotFound, cm.Name, translate.ManagedByValue)
	}
	rec, err := DecodeWithLimits(cm.Data, cm.BinaryData, lim)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %w", cm.Name, err)
	}
	return rec, nil
}

func (s *Store) create(ctx context.Context, rec Record, objName string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: objName}}
	enc, err := s.fill(cm, rec)
	if err != nil {
		return err
	}
	_, err = s.cms.Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("%w: %w", ErrAlreadyExists, err)
	}
	if err != nil {
		return err
	}
	setEncoding(rec, enc)
	return nil
}

// update is the one read-modify-write loop: each attempt reads the object afresh, so mutate always sees
// the latest record, and the write carries that read's resourceVersion.
func (s *Store) update(ctx context.Context, objName string, mutate func(Record) (Record, error)) (Record, bool, error) {
	var out Record
	var wrote bool
	err := retry.RetryOnConflict(s.backoff, func() error {
		wrote = false
		cur, cm, err := s.get(ctx, objName)
		if err != nil {
			return err
		}
		next, err := mutate(cur)
		if err != nil {
			return err
		}
		updated := cm.DeepCopy()
		enc, err := s.fill(updated, next)
		if err != nil {
			return err
		}
		if sameContent(cm, updated) {
			out = cur
			return nil
		}
		if _, err := s.cms.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return err
		}
		setEncoding(next, enc)
		out, wrote = next, true
		return nil
	})
	if apierrors.IsConflict(err) {
		return nil, false, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	if err != nil {
		return nil, false, err
	}
	return out, wrote, nil
}

func (s *Store) delete(ctx context.Context, objName string) error {
	err := s.cms.Delete(ctx, objName, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func (s *Store) list(ctx context.Context, set labels.Set, extra labels.Selector) ([]Record, error) {
	sel := labels.SelectorFromSet(set)
	if extra != nil {
		reqs, selectable := extra.Requirements()
		if !selectable {
			return nil, nil
		}
		sel = sel.Add(reqs...)
	}
	var recs []Record
	var errs []error
	opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: listPageSize}
	for {
		page, err := s.cms.List(ctx, opts)
		if err != nil {
			return recs, fmt.Errorf("selector %q: %w", opts.LabelSelector, err)
		}
		for i := range page.Items {
			rec, err := decodeConfigMap(&page.Items[i], s.limits)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			recs = append(recs, rec)
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	return recs, errors.Join(errs...)
}

// fill sets cm's payload, labels and encoding annotation from rec, keeping labels and annotations that
// others (GitOps tools, users) put there.
func (s *Store) fill(cm *corev1.ConfigMap, rec Record) (Encoding, error) {
	p, err := Encode(rec, s.limits)
	if err != nil {
		return Encoding{}, err
	}
	cm.Data, cm.BinaryData = p.Data, p.BinaryData
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	// Labels of ours that no longer apply (a pipeline name removed) must go, others' must stay.
	for _, k := range []string{LabelExperiment, translate.LabelPipeline, LabelPipelineVersion, LabelRecurringRun, LabelRun, LabelState, LabelStorageState} {
		delete(cm.Labels, k)
	}
	maps.Copy(cm.Labels, recordLabels(rec))
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[AnnotationRecordEncoding] = p.Encoding.String()
	return p.Encoding, nil
}

func recordLabels(rec Record) labels.Set {
	set := labels.Set{translate.LabelManagedBy: translate.ManagedByValue, LabelKind: rec.recordKind()}
	switch r := rec.(type) {
	case *Experiment:
		set[LabelExperiment] = LabelValue(r.Name)
		set[LabelStorageState] = string(r.StorageState)
	case *Run:
		set[LabelRun] = LabelValue(r.Name)
		set[LabelExperiment] = LabelValue(r.Experiment)
		set[LabelState] = string(r.State)
		set[LabelStorageState] = string(r.StorageState)
		if r.PipelineName != "" {
			set[translate.LabelPipeline] = LabelValue(r.PipelineName)
		}
		if r.PipelineVersion != "" {
			set[LabelPipelineVersion] = LabelValue(r.PipelineVersion)
		}
		if r.RecurringRun != "" {
			set[LabelRecurringRun] = LabelValue(r.RecurringRun)
		}
	}
	return set
}

func sameContent(a, b *corev1.ConfigMap) bool {
	return maps.Equal(a.Data, b.Data) && maps.EqualFunc(a.BinaryData, b.BinaryData, func(x, y []byte) bool { return string(x) == string(y) }) &&
		maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations)
}

func setEncoding(rec Record, enc Encoding) {
	if r, ok := rec.(*Run); ok {
		r.Encoding = enc
	}
}
