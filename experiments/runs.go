package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate"
)

// Runs ties run records to their Workflows: submit, read (reconciling each record from its Workflow, so the
// CLI works without the sync controller), watch, stop, retry, logs. Records live in Store, Workflows in WF,
// both in one namespace.
type Runs struct {
	Store *Store
	WF    *argo.Workflows
	// DeleteTimeout bounds how long a retry waits for the previous attempt's Workflow (and its pods) to go.
	DeleteTimeout time.Duration
}

// NewRuns returns Runs over a store and the Workflows of the same namespace.
func NewRuns(store *Store, wf *argo.Workflows) *Runs {
	return &Runs{Store: store, WF: wf, DeleteTimeout: 2 * time.Minute}
}

// DryRun says how far Submit goes.
type DryRun string

const (
	// DryRunNone submits for real.
	DryRunNone DryRun = ""
	// DryRunClient prepares and validates locally; nothing is sent.
	DryRunClient DryRun = "client"
	// DryRunServer has the API server validate and default the Workflow without storing it; no record.
	DryRunServer DryRun = "server"
)

// ParseDryRun accepts kubectl's values: "", "none", "client", "server".
func ParseDryRun(s string) (DryRun, error) {
	switch s {
	case "", "none":
		return DryRunNone, nil
	case "client":
		return DryRunClient, nil
	case "server":
		return DryRunServer, nil
	}
	return "", fmt.Errorf("--dry-run %q: expected none, client or server", s)
}

// SubmitRequest is one run to start.
type SubmitRequest struct {
	// Workflow is what runs: compiled by translate, or a plain Argo Workflow tracked as a run.
	Workflow *wfv1.Workflow
	// RunName is the run's (and Workflow's) name; empty means generated from the Workflow's generateName or
	// the pipeline name.
	RunName     string
	DisplayName string
	// Experiment defaults to DefaultExperiment.
	Experiment string
	DryRun     DryRun
}

// maxNameAttempts bounds retries of a generated run name that happens to be taken.
const maxNameAttempts = 5

// Submit creates the Workflow and then its run record. The order is what makes a crash safe: the Workflow
// carries the labels and annotations that rebuild its record (ReconcileRun), so a crash after the first write
// leaves a Workflow whose record the next read or sync creates; a record never claims a Workflow that was
// not created. The returned Workflow is what the API server stored (or would store, for a server dry run);
// the Run is empty for dry runs.
func (r *Runs) Submit(ctx context.Context, req SubmitRequest) (Run, *wfv1.Workflow, error) {
	if req.Workflow == nil {
		return Run{}, nil, fmt.Errorf("submit: %w: no workflow", ErrInvalid)
	}
	if req.Experiment == "" {
		req.Experiment = DefaultExperiment
	}
	if err := ValidateExperimentName(req.Experiment); err != nil {
		return Run{}, nil, fmt.Errorf("submit: %w: %w", ErrInvalid, err)
	}
	if req.DryRun != DryRunClient {
		// Refuse before anything is created: a Workflow running in an archived experiment would have no
		// record the user can see by default.
		exp, err := r.Store.getExperiment(ctx, req.Experiment)
		switch {
		case err == nil && exp.StorageState == StorageArchived:
			return Run{}, nil, fmt.Errorf("submit to experiment %q: %w; unarchive it first", req.Experiment, ErrExperimentArchived)
		case err != nil && !errors.Is(err, ErrNotFound):
			return Run{}, nil, fmt.Errorf("submit: %w", err)
		}
	}
	explicit := req.RunName != "" || req.Workflow.Name != ""
	for attempt := 1; ; attempt++ {
		wf, err := PrepareWorkflow(req)
		if err != nil {
			return Run{}, nil, fmt.Errorf("submit: %w", err)
		}
		if req.DryRun == DryRunClient {
			return Run{}, wf, nil
		}
		// A record under the name is a run that is still known, even if its Workflow is gone (finished and
		// removed by Argo's TTL): a new Workflow of that name would be tracked by no record.
		if taken, err := r.Store.GetRun(ctx, wf.Name); err == nil {
			if !explicit && attempt < maxNameAttempts {
				continue
			}
			return Run{}, nil, fmt.Errorf("submit run %q: %w: the name belongs to a %s run (workflow uid %s); "+
				"free it with `kfp-argo run delete %s` or pick another name", wf.Name, ErrAlreadyExists, taken.State, taken.Workflow.UID, wf.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return Run{}, nil, fmt.Errorf("submit: %w", err)
		}
		created, err := r.WF.Create(ctx, wf, req.DryRun == DryRunServer)
		if err != nil {
			if apierrors.IsAlreadyExists(err) && !explicit && attempt < maxNameAttempts {
				continue // a generated name that is taken: draw another
			}
			return Run{}, nil, fmt.Errorf("submit run %q: %w", wf.Name, err)
		}
		if req.DryRun == DryRunServer {
			return Run{}, created, nil
		}
		run, err := r.Store.CreateRun(ctx, MapWorkflow(created, nil, r.Store.clock()))
		if errors.Is(err, ErrAlreadyExists) || errors.Is(err, ErrExperimentArchived) {
			// Sync was faster, or the experiment was archived meanwhile: the Workflow exists, so its record
			// must too, and reconciling writes it whatever the experiment's state.
			run, _, err = r.reconcile(ctx, created)
		}
		if err != nil {
			return Run{}, created, fmt.Errorf("workflow %q created, its record not yet (the next read or sync writes it): %w", created.Name, err)
		}
		return run, created, nil
	}
}

// PrepareWorkflow returns the Workflow of req as it will be created: named, and carrying the labels and
// annotations from which its run record can be rebuilt (docs/records.md, "Workflow metadata").
func PrepareWorkflow(req SubmitRequest) (*wfv1.Workflow, error) {
	wf := req.Workflow.DeepCopy()
	switch {
	case req.RunName != "":
		wf.Name = req.RunName
	case wf.Name == "":
		prefix := wf.GenerateName
		if prefix == "" {
			prefix = "run-"
		}
		// Named here rather than by the API server, so that the run label can hold the name from the start.
		wf.Name = argo.GenerateName(prefix)
	}
	wf.GenerateName = ""
	if err := ValidateRunName(wf.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	experiment := req.Experiment
	if experiment == "" {
		experiment = DefaultExperiment
	}
	if wf.Labels == nil {
		wf.Labels = map[string]string{}
	}
	if wf.Annotations == nil {
		wf.Annotations = map[string]string{}
	}
	wf.Labels[LabelRun] = LabelValue(wf.Name)
	wf.Labels[LabelExperiment] = LabelValue(experiment)
	wf.Annotations[AnnotationExperiment] = experiment
	if req.DisplayName != "" {
		wf.Annotations[AnnotationRunDisplayName] = req.DisplayName
	}
	if _, ok := wf.Annotations[translate.AnnotationParameters]; !ok {
		params := map[string]string{}
		for _, p := range wf.Spec.Arguments.Parameters {
			if p.Value == nil || translate.IsRuntimeParameter(p.Name) {
				continue
			}
			if v, given := translate.DecodeValue(p.Value.String()); given {
				params[p.Name] = v
			}
		}
		raw, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("parameters annotation: %w", err)
		}
		wf.Annotations[translate.AnnotationParameters] = string(raw)
	}
	return wf, nil
}

// Get returns a run's record, reconciled with its Workflow: created if only the Workflow exists (a submit
// that crashed before its second write), moved to WORKFLOW_DELETED if the Workflow is gone before the run
// ended.
func (r *Runs) Get(ctx context.Context, name string) (Run, error) {
	wf, err := r.WF.Get(ctx, name)
	if err == nil && IsRun(wf) {
		run, _, err := r.reconcile(ctx, wf)
		return run, err
	}
	if err != nil && !errors.Is(err, argo.ErrNotFound) {
		return Run{}, fmt.Errorf("get run %q: %w", name, err)
	}
	run, gerr := r.Store.GetRun(ctx, name)
	if err == nil && errors.Is(gerr, ErrNotFound) {
		// A Workflow that is not a run (IsRun) is not adopted: it stays Argo's.
		return Run{}, fmt.Errorf("run %q: %w: workflow %s is not a kfp-argo run (it has neither the label %s=%s nor %s); "+
			"label it, or start it with kfp-argo submit", name, ErrNotFound, name, translate.LabelManagedBy, translate.ManagedByValue, LabelRun)
	}
	if gerr != nil {
		return Run{}, gerr
	}
	if err == nil {
		// Its record exists but the Workflow lost the labels that made it a run: the record stays as it is.
		return run, nil
	}
	if run.State.Terminal() {
		return run, nil
	}
	run, _, err = r.Store.MarkRunWorkflowDeleted(ctx, name, "")
	return run, err
}

// List returns the runs matching f, newest first, after reconciling every record that can still change
// with its Workflow and creating the records of Workflows that have none.
func (r *Runs) List(ctx context.Context, f RunFilter) ([]Run, error) {
	runs, listErr := r.Store.ListRuns(ctx, RunFilter{})
	byName := map[string]*Run{}
	for i := range runs {
		byName[runs[i].Name] = &runs[i]
	}
	var wfs []wfv1.Workflow
	for _, sel := range RunSelectors() {
		some, err := r.WF.List(ctx, sel.String())
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		wfs = append(wfs, some...)
	}
	var errs []error
	if listErr != nil {
		errs = append(errs, listErr)
	}
	seen := map[string]bool{}
	for i := range wfs {
		wf := &wfs[i]
		seen[wf.Name] = true
		cur, ok := byName[wf.Name]
		if ok && !needsReconcile(cur, wf) {
			continue
		}
		if !ok {
			// A record is created only from a Workflow that is still there now: the list may predate a
			// `run delete` that removed it and its record since.
			live, err := r.WF.Get(ctx, wf.Name)
			if errors.Is(err, argo.ErrNotFound) || (err == nil && (live.DeletionTimestamp != nil || live.UID != wf.UID)) {
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if _, _, err := r.reconcile(ctx, wf); err != nil {
			errs = append(errs, err)
		}
	}
	for name, cur := range byName {
		if !seen[name] && !cur.State.Terminal() {
			if _, _, err := r.Store.MarkRunWorkflowDeleted(ctx, name, ""); err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	out, err := r.Store.ListRuns(ctx, f)
	if err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// needsReconcile: a terminal record of the same execution has nothing more to learn from its Workflow.
func needsReconcile(run *Run, wf *wfv1.Workflow) bool {
	if !run.State.Terminal() || string(wf.UID) != run.Workflow.UID {
		return true
	}
	n, _ := retryCount(wf)
	return n > run.RetryCount
}

// Watch calls fn with the run record every time its Workflow changes, until the run is terminal or ctx
// ends; it returns the last record.
func (r *Runs) Watch(ctx context.Context, name string, fn func(Run)) (Run, error) {
	var last Run
	_, err := r.WF.Watch(ctx, name, func(wf *wfv1.Workflow) (bool, error) {
		run, _, err := r.reconcile(ctx, wf)
		if err != nil {
			return false, err
		}
		last = run
		fn(run)
		return run.State.Terminal(), nil
	})
	if errors.Is(err, argo.ErrNotFound) {
		// Gone before it ended (or never there): the record says which.
		run, gerr := r.Get(ctx, name)
		if gerr == nil {
			fn(run)
			return run, nil
		}
		return last, fmt.Errorf("watch run %q: %w", name, err)
	}
	if err != nil {
		return last, fmt.Errorf("watch run %q: %w", name, err)
	}
	return last, nil
}

// Shutdown stops (exit handlers still run) or terminates a run; the record shows CANCELING, then CANCELED.
func (r *Runs) Shutdown(ctx context.Context, name string, strategy wfv1.ShutdownStrategy) (Run, error) {
	run, err := r.Get(ctx, name)
	if err != nil {
		return Run{}, err
	}
	if run.State.Terminal() {
		return run, fmt.Errorf("%s run %q: %w: it is already %s", strings.ToLower(string(strategy)), name, ErrInvalid, run.State)
	}
	wf, err := r.WF.Shutdown(ctx, name, strategy)
	if err != nil {
		return run, err
	}
	run, _, err = r.reconcile(ctx, wf)
	return run, err
}

// reconcile is Store.ReconcileRun for a Workflow just read from the API server: one that took over the name
// of an earlier run (re-created outside kfp-argo) supersedes that run's record (Store.SupersedeRun).
func (r *Runs) reconcile(ctx context.Context, wf *wfv1.Workflow) (Run, bool, error) {
	run, wrote, err := r.Store.ReconcileRun(ctx, wf)
	if errors.Is(err, ErrWorkflowMismatch) {
		return r.Store.SupersedeRun(ctx, wf, nil)
	}
	return run, wrote, err
}

// Retry runs a FAILED or CANCELED run again as a new attempt of the same run (argo.NewAttempt): the old
// Workflow is deleted and a new one of the same name created with kfp-argo.io/retry-count one larger, which
// reopens the record. The record keeps its history; task rows are the new attempt's.
//
// Crash safety: until the new Workflow exists the record stays in its terminal state (it claims nothing
// that runs); once it exists, the next read adopts it through its larger retry count even if this process
// died before updating the record.
func (r *Runs) Retry(ctx context.Context, name string) (Run, error) {
	run, err := r.Get(ctx, name)
	if err != nil {
		return Run{}, err
	}
	if run.State != StateFailed && run.State != StateCanceled {
		return run, fmt.Errorf("retry run %q: %w: only FAILED or CANCELED runs can be retried, it is %s", name, ErrInvalid, run.State)
	}
	old, err := r.WF.Get(ctx, name)
	if err != nil {
		return run, fmt.Errorf("retry run %q: its workflow is needed to run it again: %w", name, err)
	}
	count := run.RetryCount
	if n, _ := retryCount(old); n > count {
		count = n
	}
	next := argo.NewAttempt(old, map[string]string{AnnotationRetryCount: strconv.Itoa(count + 1)})
	if err := r.WF.Delete(ctx, name, string(old.UID)); err != nil && !errors.Is(err, argo.ErrNotFound) {
		return run, fmt.Errorf("retry run %q: %w", name, err)
	}
	if err := r.WF.WaitDeleted(ctx, name, string(old.UID), r.DeleteTimeout); err != nil {
		return run, fmt.Errorf("retry run %q: %w", name, err)
	}
	created, err := r.WF.Create(ctx, next, false)
	if err != nil {
		return run, fmt.Errorf("retry run %q: previous attempt deleted, new one not created: %w", name, err)
	}
	run, _, err = r.Store.ReconcileRun(ctx, created)
	if err != nil {
		return run, fmt.Errorf("retry run %q: attempt %d created, record not updated yet: %w", name, count+1, err)
	}
	return run, nil
}

// Delete deletes a run's Workflow, then its record. In this order an interruption leaves a record whose
// Workflow is gone (shown as WORKFLOW_DELETED unless it had ended, and deleted by trying again), never a
// Workflow whose record sync would bring back.
func (r *Runs) Delete(ctx context.Context, name string) error {
	if err := r.WF.Delete(ctx, name, ""); err != nil && !errors.Is(err, argo.ErrNotFound) {
		return fmt.Errorf("delete run %q: %w", name, err)
	}
	if err := r.Store.DeleteRun(ctx, name); err != nil {
		return err
	}
	return nil
}

// LogsRequest selects the pods whose logs Logs prints.
type LogsRequest struct {
	// Task is an IR task name, display name or node ID; empty means every task that ran a pod.
	Task   string
	Follow bool
}

// Logs writes the main container logs of a run's task pods to out, each under a "==> task (pod) <=="
// header when there is more than one. Pod names come from the record, so logs are found as long as the pods
// exist, also after the Workflow is gone.
func (r *Runs) Logs(ctx context.Context, name string, req LogsRequest, out io.Writer) error {
	run, err := r.Get(ctx, name)
	if err != nil {
		return err
	}
	var pods []Task
	for _, t := range run.Tasks {
		if t.Pod == "" {
			continue
		}
		if req.Task == "" || t.Name == req.Task || t.DisplayName == req.Task || t.ID == req.Task {
			pods = append(pods, t)
		}
	}
	if len(pods) == 0 {
		if req.Task != "" {
			return fmt.Errorf("logs of run %q: %w: no task %q with a pod (tasks: %s)", name, ErrNotFound, req.Task, strings.Join(taskNames(run), ", "))
		}
		return fmt.Errorf("logs of run %q: %w: no task has run a pod yet", name, ErrNotFound)
	}
	if req.Follow && len(pods) > 1 {
		return fmt.Errorf("logs of run %q: -f follows one task; choose one with --task (%s)", name, strings.Join(taskNames(run), ", "))
	}
	var errs []error
	for _, t := range pods {
		if len(pods) > 1 {
			fmt.Fprintf(out, "==> %s (%s) <==\n", metricPrefix(t), t.Pod)
		}
		if err := r.WF.PodLogs(ctx, t.Pod, argo.LogOptions{Follow: req.Follow}, out); err != nil {
			errs = append(errs, fmt.Errorf("task %s: %w", metricPrefix(t), err))
		}
	}
	return errors.Join(errs...)
}

func taskNames(run Run) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range run.Tasks {
		if t.Pod != "" && !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t.Name)
		}
	}
	return out
}

// CompareRuns reads the named runs (reconciled), or when names is empty the runs of experiment, and puts
// them side by side.
func (r *Runs) CompareRuns(ctx context.Context, experiment string, names []string) (Comparison, error) {
	var runs []Run
	if len(names) > 0 {
		for _, n := range names {
			run, err := r.Get(ctx, n)
			if err != nil {
				return Comparison{}, err
			}
			runs = append(runs, run)
		}
		return Compare(runs), nil
	}
	runs, err := r.List(ctx, RunFilter{Experiment: experiment})
	if err != nil {
		return Comparison{}, err
	}
	if len(runs) == 0 {
		return Comparison{}, fmt.Errorf("compare: %w: experiment %q has no runs", ErrNotFound, experiment)
	}
	// Oldest first reads left to right as the experiment went; names break ties.
	sort.Slice(runs, func(i, j int) bool {
		if !runs[i].CreatedAt.Equal(runs[j].CreatedAt) {
			return runs[i].CreatedAt.Before(runs[j].CreatedAt)
		}
		return runs[i].Name < runs[j].Name
	})
	return Compare(runs), nil
}
