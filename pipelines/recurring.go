package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/retry"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// maxRecurringRunName is Argo's limit for CronWorkflow names (its Workflows are named NAME-<unix time>).
const maxRecurringRunName = 52

// semaphoreKey is the key of a recurring run's concurrency ConfigMap that Argo's semaphore reads.
const semaphoreKey = "limit"

// Schedule is when a recurring run starts runs, in KFP's terms (docs/records.md says how each maps onto
// the CronWorkflow).
type Schedule struct {
	// Cron is a cron expression (5 fields, or KFP's 6 with seconds "0"); Every an interval of at least a
	// minute. Exactly one is set.
	Cron  string `json:"cron,omitempty"`
	Every string `json:"every,omitempty"`
	// Start and End bound the runs; zero means unbounded.
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Timezone string    `json:"timezone,omitempty"`
	// MaxConcurrency caps the runs of the recurring run that are active at once; 0 means no cap.
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
	// NoCatchup skips runs missed while the controller was down; by default the latest missed one is
	// started late (Argo starts at most one).
	NoCatchup bool `json:"noCatchup,omitempty"`
}

// RecurringRunRequest is a recurring run to create.
type RecurringRunRequest struct {
	Name, Experiment, Description string
	Ref                           Ref
	Schedule                      Schedule
	Parameters                    map[string]any
}

// RecurringRun is a recurring run as its CronWorkflow says.
type RecurringRun struct {
	Name        string `json:"name"`
	Experiment  string `json:"experiment"`
	Description string `json:"description,omitempty"`
	Pipeline    string `json:"pipeline"`
	// Ref is what was asked for (NAME@latest follows new uploads); Version is what runs now.
	Ref        Ref               `json:"-"`
	RefText    string            `json:"pipelineRef"`
	Version    string            `json:"pipelineVersion"`
	Template   string            `json:"workflowTemplate"`
	Schedule   Schedule          `json:"schedule"`
	Schedules  []string          `json:"argoSchedules"`
	Enabled    bool              `json:"enabled"`
	Parameters map[string]string `json:"parameters,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	// LastScheduled, Active, Succeeded, Failed, Phase and Conditions are the CronWorkflow's status.
	LastScheduled time.Time `json:"lastScheduledAt,omitzero"`
	Active        []string  `json:"active,omitempty"`
	Succeeded     int64     `json:"succeeded"`
	Failed        int64     `json:"failed"`
	Phase         string    `json:"phase,omitempty"`
	Conditions    []string  `json:"conditions,omitempty"`
}

// argoSchedule turns a Schedule into Argo's schedule string and the length of one period, checking it.
func (s Schedule) argoSchedule(now time.Time) (string, time.Duration, error) {
	switch {
	case s.Cron != "" && s.Every != "":
		return "", 0, fmt.Errorf("%w: give --cron or --every, not both", ErrInvalid)
	case s.Every != "":
		d, err := time.ParseDuration(s.Every)
		if err != nil {
			return "", 0, fmt.Errorf("--every %q: %w: %v", s.Every, ErrInvalid, err)
		}
		if d < time.Minute {
			return "", 0, fmt.Errorf("--every %s: %w: Argo schedules at most once a minute; give 1m or more", s.Every, ErrInvalid)
		}
		if d%time.Second != 0 {
			return "", 0, fmt.Errorf("--every %s: %w: whole seconds only", s.Every, ErrInvalid)
		}
		return "@every " + d.String(), d, nil
	case s.Cron != "":
		expr := strings.Join(strings.Fields(s.Cron), " ")
		if f := strings.Fields(expr); len(f) == 6 {
			// KFP's cron has seconds first; Argo's has none, so only "0" seconds can be kept.
			if f[0] != "0" {
				return "", 0, fmt.Errorf("--cron %q: %w: Argo schedules at minute granularity; the seconds field must be 0 (or leave it out)", s.Cron, ErrInvalid)
			}
			expr = strings.Join(f[1:], " ")
		}
		sched, err := cron.ParseStandard(expr)
		if err != nil {
			return "", 0, fmt.Errorf("--cron %q: %w: %v", s.Cron, ErrInvalid, err)
		}
		first := sched.Next(now)
		return expr, sched.Next(first).Sub(first), nil
	}
	return "", 0, fmt.Errorf("%w: a recurring run needs --cron EXPR or --every DURATION", ErrInvalid)
}

// exprTime is a time as an expression Argo's expr-lang evaluates (date() of RFC 3339 text).
func exprTime(t time.Time) string { return "date('" + t.UTC().Format(time.RFC3339) + "')" }

// NewRecurringRun checks a request and builds its CronWorkflow, without creating anything: an unknown
// pipeline or version, a bad schedule or parameters that do not match the pipeline are errors here.
func (s *Store) NewRecurringRun(ctx context.Context, req RecurringRunRequest) (*wfv1.CronWorkflow, error) {
	if errs := validation.IsDNS1123Subdomain(req.Name); len(errs) > 0 {
		return nil, fmt.Errorf("recurring run name %q: %w: %s", req.Name, ErrInvalid, strings.Join(errs, "; "))
	}
	if len(req.Name) > maxRecurringRunName {
		return nil, fmt.Errorf("recurring run name %q: %w: at most %d characters (Argo names its runs NAME-<time>)", req.Name, ErrInvalid, maxRecurringRunName)
	}
	if req.Experiment == "" {
		req.Experiment = experiments.DefaultExperiment
	}
	if err := experiments.ValidateExperimentName(req.Experiment); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	sched := req.Schedule
	argoSched, period, err := sched.argoSchedule(s.now())
	if err != nil {
		return nil, err
	}
	if sched.Timezone != "" {
		if _, err := time.LoadLocation(sched.Timezone); err != nil {
			return nil, fmt.Errorf("--timezone %q: %w: %v", sched.Timezone, ErrInvalid, err)
		}
	}
	if !sched.Start.IsZero() && !sched.End.IsZero() && !sched.End.After(sched.Start) {
		return nil, fmt.Errorf("%w: --end %s is not after --start %s", ErrInvalid, sched.End.Format(time.RFC3339), sched.Start.Format(time.RFC3339))
	}
	if sched.MaxConcurrency < 0 {
		return nil, fmt.Errorf("--max-concurrency %d: %w: must not be negative", sched.MaxConcurrency, ErrInvalid)
	}
	if _, err := s.crons.Get(ctx, req.Name, metav1.GetOptions{}); err == nil {
		return nil, fmt.Errorf("recurring run %q: %w", req.Name, ErrAlreadyExists)
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("recurring run %q: %w", req.Name, err)
	}
	v, tmpl, err := s.Get(ctx, req.Ref)
	if err != nil {
		return nil, err
	}
	given, err := json.Marshal(req.Parameters)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	schedJSON, err := json.Marshal(sched)
	if err != nil {
		return nil, err
	}
	policy := PolicyPinned
	if req.Ref.Latest() {
		policy = PolicyLatest
	}
	cw := &wfv1.CronWorkflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "CronWorkflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name: req.Name,
			Labels: map[string]string{
				translate.LabelManagedBy:      translate.ManagedByValue,
				experiments.LabelExperiment:   experiments.LabelValue(req.Experiment),
				experiments.LabelRecurringRun: experiments.LabelValue(req.Name),
				LabelVersionPolicy:            policy,
			},
			Annotations: map[string]string{
				experiments.AnnotationExperiment:   req.Experiment,
				experiments.AnnotationRecurringRun: req.Name,
				AnnotationRecurringParameters:      string(given),
				AnnotationSchedule:                 string(schedJSON),
			},
		},
		Spec: wfv1.CronWorkflowSpec{
			Schedules: []string{argoSched},
			Timezone:  sched.Timezone,
		},
	}
	if req.Description != "" {
		cw.Annotations[AnnotationDescription] = req.Description
	}
	switch sched.MaxConcurrency {
	case 0:
		cw.Spec.ConcurrencyPolicy = wfv1.AllowConcurrent
	case 1:
		// Argo skips a run while one is active, as KFP's scheduler does at its limit.
		cw.Spec.ConcurrencyPolicy = wfv1.ForbidConcurrent
	default:
		cw.Spec.ConcurrencyPolicy = wfv1.AllowConcurrent
		cw.Spec.WorkflowSpec.Synchronization = &wfv1.Synchronization{Semaphores: []*wfv1.SemaphoreRef{{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: SemaphoreConfigMap(req.Name)}, Key: semaphoreKey},
		}}}
	}
	if !sched.NoCatchup {
		secs := int64(period.Seconds())
		cw.Spec.StartingDeadlineSeconds = &secs
	}
	if !sched.Start.IsZero() {
		cw.Spec.When = "{{= now() >= " + exprTime(sched.Start) + " }}"
	}
	if !sched.End.IsZero() {
		cw.Spec.StopStrategy = &wfv1.StopStrategy{Expression: "now() >= " + exprTime(sched.End)}
	}
	if err := pointAt(cw, v, tmpl, req.Parameters); err != nil {
		return nil, err
	}
	if err := argo.ValidateCronWorkflowWith(cw, tmpl); err != nil {
		return nil, fmt.Errorf("recurring run %q: %w: %w", req.Name, ErrInvalid, err)
	}
	return cw, nil
}

// pointAt makes the CronWorkflow run version v: its template, the arguments params make for it, and the
// metadata each spawned Workflow carries so that sync records it as a run of the experiment.
func pointAt(cw *wfv1.CronWorkflow, v Version, tmpl *wfv1.WorkflowTemplate, params map[string]any) error {
	p, err := Spec(tmpl)
	if err != nil {
		return err
	}
	if need := NeededArtifacts(p); len(need) > 0 {
		// Each run would need their locations, and a schedule has no run to ask.
		return fmt.Errorf("pipeline %q version %q: %w: recurring runs of a pipeline with input artifacts (%s) are not supported; "+
			"upload a version that has no input artifacts, or start each run with submit --pipeline --input-artifact",
			v.Pipeline, v.Name, ErrInvalid, strings.Join(need, ", "))
	}
	all, err := Arguments(v, tmpl, RunInputs{Parameters: params})
	if err != nil {
		return err
	}
	args := all.Parameters
	paramsAnn, err := experiments.ParametersAnnotation(args)
	if err != nil {
		return err
	}
	cw.Spec.WorkflowSpec.WorkflowTemplateRef = &wfv1.WorkflowTemplateRef{Name: tmpl.Name}
	cw.Spec.WorkflowSpec.Arguments = wfv1.Arguments{Parameters: args}
	md := &metav1.ObjectMeta{Labels: map[string]string{}, Annotations: map[string]string{}}
	if tm := tmpl.Spec.WorkflowMetadata; tm != nil {
		maps.Copy(md.Labels, tm.Labels)
		maps.Copy(md.Annotations, tm.Annotations)
	}
	for _, k := range []string{experiments.LabelExperiment, experiments.LabelRecurringRun} {
		md.Labels[k] = cw.Labels[k]
	}
	for _, k := range []string{experiments.AnnotationExperiment, experiments.AnnotationRecurringRun} {
		md.Annotations[k] = cw.Annotations[k]
	}
	md.Annotations[translate.AnnotationParameters] = paramsAnn
	cw.Spec.WorkflowMetadata = md
	cw.Labels[translate.LabelPipeline] = experiments.LabelValue(v.Pipeline)
	cw.Labels[experiments.LabelPipelineVersion] = experiments.LabelValue(v.Name)
	cw.Annotations[translate.AnnotationPipelineName] = v.Pipeline
	cw.Annotations[experiments.AnnotationPipelineVersion] = v.Name
	return nil
}

// SemaphoreConfigMap is the ConfigMap whose "limit" key caps the active runs of a recurring run with
// --max-concurrency above 1 (an Argo semaphore).
func SemaphoreConfigMap(name string) string { return "kfp-argo.recurring-run." + name }

// CreateRecurringRun creates the CronWorkflow that NewRecurringRun built, and for --max-concurrency above 1
// the semaphore ConfigMap first (so the first run never finds it missing).
func (s *Store) CreateRecurringRun(ctx context.Context, cw *wfv1.CronWorkflow) (RecurringRun, error) {
	if sync := cw.Spec.WorkflowSpec.Synchronization; sync != nil {
		var sched Schedule
		_ = json.Unmarshal([]byte(cw.Annotations[AnnotationSchedule]), &sched)
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: SemaphoreConfigMap(cw.Name), Labels: map[string]string{
				translate.LabelManagedBy: translate.ManagedByValue, experiments.LabelRecurringRun: cw.Labels[experiments.LabelRecurringRun]}},
			Data: map[string]string{semaphoreKey: strconv.Itoa(sched.MaxConcurrency)},
		}
		if _, err := s.cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return RecurringRun{}, fmt.Errorf("recurring run %q: concurrency limit: %w", cw.Name, err)
		}
	}
	created, err := s.crons.Create(ctx, cw, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return RecurringRun{}, fmt.Errorf("recurring run %q: %w", cw.Name, ErrAlreadyExists)
	}
	if err != nil {
		return RecurringRun{}, fmt.Errorf("create recurring run %q: %w", cw.Name, err)
	}
	return recurringRunOf(created), nil
}

// recurringRunOf reads a recurring run from its CronWorkflow.
func recurringRunOf(cw *wfv1.CronWorkflow) RecurringRun {
	a := cw.Annotations
	rr := RecurringRun{
		Name: cw.Name, Experiment: a[experiments.AnnotationExperiment], Description: a[AnnotationDescription],
		Pipeline: a[translate.AnnotationPipelineName], Version: a[experiments.AnnotationPipelineVersion],
		Schedules: cw.Spec.Schedules, Enabled: !cw.Spec.Suspend, CreatedAt: cw.CreationTimestamp.UTC(),
		Succeeded: cw.Status.Succeeded, Failed: cw.Status.Failed, Phase: string(cw.Status.Phase),
	}
	rr.Ref = Ref{Pipeline: rr.Pipeline, Version: rr.Version}
	if cw.Labels[LabelVersionPolicy] == PolicyLatest {
		rr.Ref.Version = LatestVersion
	}
	rr.RefText = rr.Ref.String()
	if ref := cw.Spec.WorkflowSpec.WorkflowTemplateRef; ref != nil {
		rr.Template = ref.Name
	}
	_ = json.Unmarshal([]byte(a[AnnotationSchedule]), &rr.Schedule)
	if md := cw.Spec.WorkflowMetadata; md != nil {
		params := map[string]string{}
		if json.Unmarshal([]byte(md.Annotations[translate.AnnotationParameters]), &params) == nil && len(params) > 0 {
			rr.Parameters = params
		}
	}
	if t := cw.Status.LastScheduledTime; t != nil {
		rr.LastScheduled = t.UTC()
	}
	for _, ref := range cw.Status.Active {
		rr.Active = append(rr.Active, ref.Name)
	}
	for _, c := range cw.Status.Conditions {
		if c.Status == metav1.ConditionTrue {
			rr.Conditions = append(rr.Conditions, fmt.Sprintf("%s: %s", c.Type, c.Message))
		}
	}
	return rr
}

// NextRuns returns up to n times at which the recurring run will start a run after now (none when it is
// disabled or has ended). An --every schedule counts from the last scheduled run, or from now before the
// first, as Argo's scheduler starts it when it loads the CronWorkflow.
func (rr RecurringRun) NextRuns(now time.Time, n int) []time.Time {
	if !rr.Enabled || rr.Phase == string(wfv1.StoppedPhase) || len(rr.Schedules) == 0 {
		return nil
	}
	expr := rr.Schedules[0]
	if rr.Schedule.Timezone != "" && !strings.HasPrefix(expr, "@every") {
		expr = "CRON_TZ=" + rr.Schedule.Timezone + " " + expr
	}
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil
	}
	t := now
	if _, every := sched.(cron.ConstantDelaySchedule); every && !rr.LastScheduled.IsZero() {
		t = rr.LastScheduled
		for !sched.Next(t).After(now) {
			t = sched.Next(t)
		}
	}
	var out []time.Time
	for len(out) < n {
		t = sched.Next(t)
		if t.IsZero() || (!rr.Schedule.End.IsZero() && !t.Before(rr.Schedule.End)) {
			break
		}
		if !rr.Schedule.Start.IsZero() && t.Before(rr.Schedule.Start) {
			continue
		}
		out = append(out, t.UTC())
	}
	return out
}

// GetRecurringRun reads one recurring run.
func (s *Store) GetRecurringRun(ctx context.Context, name string) (RecurringRun, error) {
	cw, err := s.cron(ctx, name)
	if err != nil {
		return RecurringRun{}, err
	}
	return recurringRunOf(cw), nil
}

func (s *Store) cron(ctx context.Context, name string) (*wfv1.CronWorkflow, error) {
	cw, err := s.crons.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("recurring run %q: %w: %w", name, ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("recurring run %q: %w", name, err)
	}
	if cw.Labels[translate.LabelManagedBy] != translate.ManagedByValue || cw.Labels[LabelVersionPolicy] == "" {
		return nil, fmt.Errorf("recurring run %q: %w: CronWorkflow %s was not made by kfp-argo recurring-run create", name, ErrNotFound, name)
	}
	return cw, nil
}

// ListRecurringRuns lists recurring runs (of one pipeline when it is not empty), by name.
func (s *Store) ListRecurringRuns(ctx context.Context, pipeline string) ([]RecurringRun, error) {
	cws, err := s.listCrons(ctx, pipeline, "")
	if err != nil {
		return nil, err
	}
	out := make([]RecurringRun, 0, len(cws))
	for i := range cws {
		out = append(out, recurringRunOf(&cws[i]))
	}
	slices.SortFunc(out, func(a, b RecurringRun) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Store) listCrons(ctx context.Context, pipeline, policy string) ([]wfv1.CronWorkflow, error) {
	sel := labels.NewSelector()
	add := func(key string, op selection.Operator, vals ...string) {
		if req, err := labels.NewRequirement(key, op, vals); err == nil {
			sel = sel.Add(*req)
		}
	}
	add(translate.LabelManagedBy, selection.Equals, translate.ManagedByValue)
	add(LabelVersionPolicy, selection.Exists)
	if pipeline != "" {
		add(translate.LabelPipeline, selection.Equals, experiments.LabelValue(pipeline))
	}
	if policy != "" {
		add(LabelVersionPolicy, selection.Equals, policy)
	}
	l, err := s.crons.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list recurring runs: %w", err)
	}
	var out []wfv1.CronWorkflow
	for _, cw := range l.Items {
		if pipeline == "" || cw.Annotations[translate.AnnotationPipelineName] == pipeline {
			out = append(out, cw)
		}
	}
	return out, nil
}

// SetEnabled enables (resumes) or disables (suspends) a recurring run.
func (s *Store) SetEnabled(ctx context.Context, name string, enabled bool) (RecurringRun, error) {
	if _, err := s.cron(ctx, name); err != nil {
		return RecurringRun{}, err
	}
	patch := fmt.Sprintf(`{"spec":{"suspend":%t}}`, !enabled)
	cw, err := s.crons.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return RecurringRun{}, fmt.Errorf("recurring run %q: %w", name, err)
	}
	return recurringRunOf(cw), nil
}

// DeleteRecurringRun deletes the CronWorkflow and its concurrency ConfigMap. The Workflows it started are
// orphaned, not deleted (they are runs with records of their own, as in KFP).
func (s *Store) DeleteRecurringRun(ctx context.Context, name string) error {
	if _, err := s.cron(ctx, name); err != nil {
		return err
	}
	orphan := metav1.DeletePropagationOrphan
	if err := s.crons.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete recurring run %q: %w", name, err)
	}
	if err := s.cms.Delete(ctx, SemaphoreConfigMap(name), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete recurring run %q: concurrency limit: %w", name, err)
	}
	return nil
}

// FollowLatest points every recurring run of the pipeline that follows its latest version at the newest
// version, with its parameters checked again. One whose parameters do not fit the new version stays on its
// version, and the error says so.
func (s *Store) FollowLatest(ctx context.Context, pipeline string) error {
	cws, err := s.listCrons(ctx, pipeline, PolicyLatest)
	if err != nil || len(cws) == 0 {
		return err
	}
	v, tmpl, err := s.Get(ctx, Ref{Pipeline: pipeline})
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cws {
		if c.Annotations[experiments.AnnotationPipelineVersion] == v.Name {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cw, err := s.crons.Get(ctx, c.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			params, err := givenParameters(cw)
			if err != nil {
				return err
			}
			if err := pointAt(cw, v, tmpl, params); err != nil {
				return err
			}
			_, err = s.crons.Update(ctx, cw, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("recurring run %q stays on version %q, not the latest %q: %w",
				c.Name, c.Annotations[experiments.AnnotationPipelineVersion], v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// givenParameters reads the parameters a recurring run was created with, numbers as json.Number (the
// compiler's reading of a params file), so that large integers stay whole.
func givenParameters(cw *wfv1.CronWorkflow) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(cw.Annotations[AnnotationRecurringParameters]))
	dec.UseNumber()
	var params map[string]any
	if err := dec.Decode(&params); err != nil {
		return nil, fmt.Errorf("recurring run %q: annotation %s: %w", cw.Name, AnnotationRecurringParameters, err)
	}
	return params, nil
}
