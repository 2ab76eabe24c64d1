package pipelines

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/expr/argoexpr"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// TestRecurringRunBadInputCreatesNothing: every bad request is a clear error before any object is written.
func TestRecurringRunBadInputCreatesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.upload(t, "one", "v1")
	good := RecurringRunRequest{Name: "nightly", Experiment: "exp", Ref: Ref{Pipeline: "python-io"}, Schedule: Schedule{Every: "1m"}}
	before := f.writes()
	for _, c := range []struct {
		name   string
		mutate func(*RecurringRunRequest)
		is     error
		want   string
	}{
		{"unknown pipeline", func(r *RecurringRunRequest) { r.Ref.Pipeline = "nope" }, ErrNotFound, `pipeline "nope"`},
		{"unknown version", func(r *RecurringRunRequest) { r.Ref.Version = "v9" }, ErrNotFound, `has no version "v9" (versions: v1)`},
		{"invalid cron", func(r *RecurringRunRequest) { r.Schedule = Schedule{Cron: "61 * * * *"} }, ErrInvalid, `--cron "61 * * * *"`},
		{"cron with seconds", func(r *RecurringRunRequest) { r.Schedule = Schedule{Cron: "30 * * * * *"} }, ErrInvalid, "seconds field must be 0"},
		{"every below a minute", func(r *RecurringRunRequest) { r.Schedule = Schedule{Every: "30s"} }, ErrInvalid, "give 1m or more"},
		{"every not a duration", func(r *RecurringRunRequest) { r.Schedule = Schedule{Every: "daily"} }, ErrInvalid, `--every "daily"`},
		{"no schedule", func(r *RecurringRunRequest) { r.Schedule = Schedule{} }, ErrInvalid, "needs --cron EXPR or --every DURATION"},
		{"both schedules", func(r *RecurringRunRequest) { r.Schedule = Schedule{Cron: "* * * * *", Every: "1m"} }, ErrInvalid, "not both"},
		{"bad timezone", func(r *RecurringRunRequest) { r.Schedule.Timezone = "Mars/Olympus" }, ErrInvalid, "--timezone"},
		{"end before start", func(r *RecurringRunRequest) {
			r.Schedule.Start, r.Schedule.End = time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		}, ErrInvalid, "is not after --start"},
		{"unknown parameter", func(r *RecurringRunRequest) { r.Parameters = map[string]any{"nope": "1"} }, nil, `parameter "nope": the pipeline has no such input`},
		{"mistyped parameter", func(r *RecurringRunRequest) { r.Parameters = map[string]any{"count": "many"} }, nil, `parameter "count" (NUMBER_INTEGER)`},
		{"name too long", func(r *RecurringRunRequest) { r.Name = strings.Repeat("a", 53) }, ErrInvalid, "at most 52 characters"},
		{"name not a DNS name", func(r *RecurringRunRequest) { r.Name = "Nightly Run" }, ErrInvalid, "recurring run name"},
	} {
		req := good
		req.Parameters = nil
		c.mutate(&req)
		_, err := f.store.NewRecurringRun(ctx, req)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %v containing %q", c.name, err, c.is, c.want)
		}
	}
	if n := f.writes() - before; n != 0 {
		t.Errorf("%d objects written by refused requests", n)
	}
}

// TestRecurringRunMapsKFPSchedule checks the CronWorkflow fields each KFP setting becomes, with Argo's own
// validator, template engine and expression evaluator (what the cron controller runs).
func TestRecurringRunMapsKFPSchedule(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.upload(t, "one", "v1")
	start, end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	cw, err := f.store.NewRecurringRun(ctx, RecurringRunRequest{Name: "hourly", Experiment: "exp", Ref: Ref{Pipeline: "python-io", Version: "v1"},
		Schedule: Schedule{Cron: "0 0 * * * *", Start: start, End: end, MaxConcurrency: 1, Timezone: "Europe/Berlin"}, Parameters: map[string]any{"ratio": "0.25"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cw.Spec.Schedules; len(got) != 1 || got[0] != "0 * * * *" {
		t.Errorf("schedules = %v (KFP's seconds field dropped)", got)
	}
	if cw.Spec.ConcurrencyPolicy != wfv1.ForbidConcurrent || cw.Spec.Timezone != "Europe/Berlin" {
		t.Errorf("concurrency %q timezone %q", cw.Spec.ConcurrencyPolicy, cw.Spec.Timezone)
	}
	if d := cw.Spec.StartingDeadlineSeconds; d == nil || *d != 3600 {
		t.Errorf("catch-up: startingDeadlineSeconds = %v, want one period (3600)", d)
	}
	if cw.Labels[LabelVersionPolicy] != PolicyPinned || cw.Spec.WorkflowSpec.WorkflowTemplateRef.Name != TemplateName("python-io", "v1") {
		t.Errorf("ref: %v %+v", cw.Labels, cw.Spec.WorkflowSpec.WorkflowTemplateRef)
	}
	// start: Argo's cron controller renders `when` with its template engine, then reads true/false.
	for _, c := range []struct {
		now  time.Time
		want string
	}{{start.Add(-time.Hour), "false"}, {start, "true"}, {end.Add(time.Hour), "true"}} {
		got := renderWhen(t, cw.Spec.When, c.now)
		if got != c.want {
			t.Errorf("when at %s = %q, want %s", c.now, got, c.want)
		}
	}
	// And with expr-lang's own now(), as the controller evaluates it today (before the 2027 start).
	if tmpl, err := template.NewTemplate(cw.Spec.When); err != nil {
		t.Fatal(err)
	} else if out, err := tmpl.Replace(map[string]any{}, false); err != nil || out != "false" {
		t.Errorf("when with now() = %q, %v; want false", out, err)
	}
	// end: the stop strategy's expression, as argoexpr.EvalBool evaluates it.
	if cw.Spec.StopStrategy == nil {
		t.Fatal("no stopStrategy for --end")
	}
	if stop, err := argoexpr.EvalBool(cw.Spec.StopStrategy.Expression, map[string]any{}); err != nil || stop {
		t.Errorf("stop expression now (before end) = %v, %v; want false", stop, err)
	}
	if !strings.Contains(cw.Spec.StopStrategy.Expression, "date('2027-02-01T00:00:00Z')") {
		t.Errorf("stop expression %q", cw.Spec.StopStrategy.Expression)
	}

	// --every, --no-catchup, --max-concurrency above 1: an Argo semaphore whose ConfigMap is created first.
	cw, err = f.store.NewRecurringRun(ctx, RecurringRunRequest{Name: "often", Experiment: "exp", Ref: Ref{Pipeline: "python-io"},
		Schedule: Schedule{Every: "90m", NoCatchup: true, MaxConcurrency: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if cw.Spec.Schedules[0] != "@every 1h30m0s" || cw.Spec.StartingDeadlineSeconds != nil || cw.Spec.ConcurrencyPolicy != wfv1.AllowConcurrent {
		t.Errorf("every/no-catchup: %v %v %q", cw.Spec.Schedules, cw.Spec.StartingDeadlineSeconds, cw.Spec.ConcurrencyPolicy)
	}
	sem := cw.Spec.WorkflowSpec.Synchronization
	if sem == nil || len(sem.Semaphores) != 1 || sem.Semaphores[0].ConfigMapKeyRef.Name != SemaphoreConfigMap("often") {
		t.Fatalf("synchronization = %+v", sem)
	}
	if _, err := f.store.CreateRecurringRun(ctx, cw); err != nil {
		t.Fatal(err)
	}
	cm, err := f.kube.CoreV1().ConfigMaps(testNS).Get(ctx, SemaphoreConfigMap("often"), metav1.GetOptions{})
	if err != nil || cm.Data["limit"] != "3" {
		t.Errorf("semaphore ConfigMap: %v %v", cm, err)
	}
	if err := f.store.DeleteRecurringRun(ctx, "often"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kube.CoreV1().ConfigMaps(testNS).Get(ctx, SemaphoreConfigMap("often"), metav1.GetOptions{}); err == nil {
		t.Error("semaphore ConfigMap left after delete")
	}
}

// renderWhen does what Argo's cron controller does with `when` (cron.evalWhen): the template engine's
// expression substitution, at the given time.
func renderWhen(t *testing.T, when string, now time.Time) string {
	t.Helper()
	// The expression calls now(); give it the time under test by swapping the call for a date literal.
	when = strings.ReplaceAll(when, "now()", "date('"+now.UTC().Format(time.RFC3339)+"')")
	tmpl, err := template.NewTemplate(when)
	if err != nil {
		t.Fatalf("when %q: %v", when, err)
	}
	out, err := tmpl.Replace(map[string]any{"cronworkflow.name": "x"}, false)
	if err != nil {
		t.Fatalf("when %q: %v", when, err)
	}
	return out
}

// TestLatestFollowsUploadsAndSpawnedRunsAreRecorded: a recurring run of NAME@latest moves to each new
// version (a pinned one stays); the Workflow Argo's cron controller makes of it (Argo's own conversion) maps
// to a run record of the experiment that names the version, the recurring run and the parameters.
func TestLatestFollowsUploadsAndSpawnedRunsAreRecorded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.upload(t, "one", "v1")
	mk := func(name string, ref Ref) {
		cw, err := f.store.NewRecurringRun(ctx, RecurringRunRequest{Name: name, Experiment: "nightly runs", Ref: ref,
			Schedule: Schedule{Every: "1m"}, Parameters: map[string]any{"count": "9007199254740993", "ratio": "0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.CreateRecurringRun(ctx, cw); err != nil {
			t.Fatal(err)
		}
	}
	mk("follow", Ref{Pipeline: "python-io", Version: LatestVersion})
	mk("pinned", Ref{Pipeline: "python-io", Version: "v1"})
	f.upload(t, "two", "v2")
	rrs, err := f.store.ListRecurringRuns(ctx, "python-io")
	if err != nil || len(rrs) != 2 {
		t.Fatalf("list = %+v, %v", rrs, err)
	}
	for _, rr := range rrs {
		want := map[string]string{"follow": "v2", "pinned": "v1"}[rr.Name]
		if rr.Version != want || rr.Template != TemplateName("python-io", want) {
			t.Errorf("%s runs %s (%s), want %s", rr.Name, rr.Version, rr.Template, want)
		}
	}
	if rrs[0].RefText != "python-io@latest" || rrs[1].RefText != "python-io@v1" {
		t.Errorf("refs %s %s", rrs[0].RefText, rrs[1].RefText)
	}
	// A version in use cannot go; the pipeline neither.
	if _, err := f.store.Delete(ctx, "python-io", "v1"); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), `recurring run "pinned"`) {
		t.Errorf("delete v1: %v", err)
	}
	if _, err := f.store.Delete(ctx, "python-io", ""); !errors.Is(err, ErrInUse) {
		t.Errorf("delete pipeline: %v", err)
	}

	cw, err := f.argo.ArgoprojV1alpha1().CronWorkflows(testNS).Get(ctx, "follow", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, tmpl, _ := f.store.Get(ctx, Ref{Pipeline: "python-io"})
	if err := argo.ValidateCronWorkflowWith(cw, tmpl); err != nil {
		t.Errorf("updated CronWorkflow: %v", err)
	}
	at := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	wf := common.ConvertCronWorkflowToWorkflowWithProperties(cw, "follow-1796101200", at)
	if !experiments.IsRun(wf) {
		t.Fatalf("spawned workflow is not a run: labels %v", wf.Labels)
	}
	run := experiments.MapWorkflow(wf, nil, at)
	if run.Experiment != "nightly runs" || run.PipelineName != "python-io" || run.PipelineVersion != "v2" || run.RecurringRun != "follow" {
		t.Errorf("record: experiment %q pipeline %q version %q recurring %q", run.Experiment, run.PipelineName, run.PipelineVersion, run.RecurringRun)
	}
	if run.Parameters["count"] != "9007199254740993" || run.Parameters["ratio"] != "0.1" || run.Parameters["message"] != "hello" {
		t.Errorf("record parameters = %v", run.Parameters)
	}
	if wf.Labels[experiments.LabelExperiment] != experiments.LabelValue("nightly runs") || wf.Labels[translate.LabelManagedBy] != "kfp-argo" {
		t.Errorf("spawned labels = %v", wf.Labels)
	}

	// Disable, enable, delete.
	rr, err := f.store.SetEnabled(ctx, "follow", false)
	if err != nil || rr.Enabled || rr.NextRuns(at, 3) != nil {
		t.Errorf("disable: %+v %v", rr, err)
	}
	rr, err = f.store.SetEnabled(ctx, "follow", true)
	if err != nil || !rr.Enabled {
		t.Errorf("enable: %+v %v", rr, err)
	}
	if err := f.store.DeleteRecurringRun(ctx, "follow"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetRecurringRun(ctx, "follow"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	// That the Workflows it started stay (propagationPolicy Orphan; the fake clientset drops delete options)
	// is checked against the real garbage collector by test/e2e (TestPipelinesAndRecurringRuns).
}

func TestNextRuns(t *testing.T) {
	now := time.Date(2026, 12, 1, 4, 10, 30, 0, time.UTC)
	rr := RecurringRun{Enabled: true, Schedules: []string{"0 2 * * *"}}
	got := rr.NextRuns(now, 2)
	if len(got) != 2 || !got[0].Equal(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)) || !got[1].Equal(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("cron next = %v", got)
	}
	rr.Schedule.End = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	if got := rr.NextRuns(now, 3); len(got) != 1 {
		t.Errorf("with end: %v", got)
	}
	every := RecurringRun{Enabled: true, Schedules: []string{"@every 1m0s"}, LastScheduled: time.Date(2026, 12, 1, 4, 9, 5, 0, time.UTC)}
	got = every.NextRuns(now, 2)
	if len(got) != 2 || !got[0].Equal(time.Date(2026, 12, 1, 4, 11, 5, 0, time.UTC)) {
		t.Errorf("every next = %v", got)
	}
}
