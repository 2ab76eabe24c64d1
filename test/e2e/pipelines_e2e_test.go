//go:build e2e

package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
	"github.com/kfp-argo/kfp-argo/syncer"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
)

// TestPipelinesAndRecurringRuns (issue #17): pipeline versions as WorkflowTemplates, runs of them, and a
// recurring run of NAME@latest on Argo's own cron controller (part of the workflow-controller): the spawned
// runs follow a new upload, stop when the recurring run is disabled, are recorded in the experiment by the
// sync controller alone, and outlive the recurring run.
func TestPipelinesAndRecurringRuns(t *testing.T) {
	ctx := context.Background()
	pipe, exp, rr := harness.NewName("pipe"), harness.NewName("rr-exp"), harness.NewName("every-minute")
	src, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", "pipelines", "python-io.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	variant := func(v string) string {
		p := filepath.Join(dir, v+".yaml")
		s := strings.Replace(string(src), "Typed values, outputs and artifacts", "Version "+v+", typed values", 1)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mustCLI := func(args ...string) string {
		t.Helper()
		out, errOut, err := env.cli.Run(t, args...)
		if err != nil {
			t.Fatalf("kfp-argo %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	tmplOf := func(v string) string { return pipelines.TemplateName(pipe, v) }

	// Two versions, a run of each.
	mustCLI("pipeline", "upload", variant("v1"), "--name", pipe, "--version", "v1")
	mustCLI("pipeline", "upload", variant("v2"), "--name", pipe, "--version", "v2")
	for _, v := range []string{"v1", "v2"} {
		run := decodeRun(t, mustCLI("submit", "--pipeline", pipe+"@"+v, "-e", exp, "-p", "ratio=0.125", "--wait", "-o", "json"))
		if run.State != experiments.StateSucceeded || run.PipelineVersion != v || run.PipelineName != pipe || run.Parameters["ratio"] != "0.125" {
			t.Errorf("run of %s: state %s, pipeline %s@%s, parameters %v", v, run.State, run.PipelineName, run.PipelineVersion, run.Parameters)
		}
		wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, run.Name, metav1.GetOptions{})
		if err != nil || wf.Spec.WorkflowTemplateRef == nil || wf.Spec.WorkflowTemplateRef.Name != tmplOf(v) {
			t.Errorf("run of %s: workflow %v, spec.workflowTemplateRef %+v", v, err, wf.Spec.WorkflowTemplateRef)
		}
	}

	// The sync controller, with the RBAC of manifests/namespace, is what records the spawned runs.
	kube, wfc := syncAs(t, false)
	p := &syncProcess{t: t, kube: kube, argo: wfc, opts: syncer.Options{
		Namespace: env.ns, Workers: 2, Resync: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	p.start()
	defer p.stop()

	mustCLI("recurring-run", "create", rr, "-e", exp, "--pipeline", pipe+"@latest", "--every", "1m", "-p", "ratio=0.75")
	t.Cleanup(func() {
		_ = env.argo.ArgoprojV1alpha1().CronWorkflows(env.ns).Delete(ctx, rr, metav1.DeleteOptions{})
	})
	spawned := func() []wfv1.Workflow {
		l, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/cron-workflow=" + rr})
		if err != nil {
			t.Fatalf("list spawned workflows: %v", err)
		}
		return l.Items
	}
	// waitSpawned waits (a schedule period and a margin) for a spawned run of the version's template.
	waitSpawned := func(v string, notIn []string) wfv1.Workflow {
		t.Helper()
		var found wfv1.Workflow
		waitUntil(t, 150*time.Second, "a run of "+v+" spawned by the recurring run", func() bool {
			for _, wf := range spawned() {
				if !slices.Contains(notIn, wf.Name) && wf.Spec.WorkflowTemplateRef != nil && wf.Spec.WorkflowTemplateRef.Name == tmplOf(v) {
					found = wf
					return true
				}
			}
			return false
		})
		return found
	}
	first := waitSpawned("v2", nil)
	t.Logf("first spawned run %s (v2)", first.Name)

	// A third version: the recurring run follows it, and the next spawned run uses it.
	if out := mustCLI("pipeline", "upload", variant("v3"), "--name", pipe, "--version", "v3"); !strings.Contains(out, "@v3 uploaded") {
		t.Errorf("upload v3: %q", out)
	}
	cw, err := env.argo.ArgoprojV1alpha1().CronWorkflows(env.ns).Get(ctx, rr, metav1.GetOptions{})
	if err != nil || cw.Spec.WorkflowSpec.WorkflowTemplateRef.Name != tmplOf("v3") {
		t.Fatalf("after the upload of v3 the CronWorkflow references %+v (%v)", cw.Spec.WorkflowSpec.WorkflowTemplateRef, err)
	}
	var before []string
	for _, wf := range spawned() {
		before = append(before, wf.Name)
	}
	third := waitSpawned("v3", before)
	t.Logf("spawned run %s uses v3", third.Name)

	// Disabled: no run starts for more than a period.
	mustCLI("recurring-run", "disable", rr)
	waitUntil(t, 30*time.Second, "the CronWorkflow suspended", func() bool {
		cw, err := env.argo.ArgoprojV1alpha1().CronWorkflows(env.ns).Get(ctx, rr, metav1.GetOptions{})
		return err == nil && cw.Spec.Suspend
	})
	// Watched from the list's resourceVersion for more than a period: no Workflow may be added.
	l, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/cron-workflow=" + rr})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 80*time.Second)
	w, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Watch(wctx, metav1.ListOptions{
		LabelSelector: "workflows.argoproj.io/cron-workflow=" + rr, ResourceVersion: l.ResourceVersion})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for ev := range w.ResultChan() {
		if ev.Type == watch.Added {
			t.Errorf("the disabled recurring run started a run: %s", ev.Object.(*wfv1.Workflow).Name)
		}
	}
	w.Stop()
	if wctx.Err() == nil {
		t.Error("the watch of spawned runs ended before the 80 s window")
	}
	cancel()

	// Every spawned run: a record in the experiment, in its final state, written by sync (records are read
	// from the store directly: no CLI read has reconciled them).
	store := e2eRuns(t).Store
	names := map[string]string{} // run -> version
	for _, wf := range spawned() {
		names[wf.Name] = strings.TrimPrefix(wf.Spec.WorkflowTemplateRef.Name, experiments.ObjectNamePart(pipe)+".")
	}
	waitUntil(t, 120*time.Second, "final records of every spawned run", func() bool {
		recs, err := store.ListRuns(ctx, experiments.RunFilter{RecurringRun: rr})
		if err != nil {
			return false
		}
		done := 0
		for _, r := range recs {
			if _, ok := names[r.Name]; ok && r.State.Terminal() {
				done++
			}
		}
		return done == len(names)
	})
	recs, err := store.ListRuns(ctx, experiments.RunFilter{RecurringRun: rr})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.State != experiments.StateSucceeded || r.Experiment != exp || r.PipelineName != pipe || r.PipelineVersion != names[r.Name] ||
			r.RecurringRun != rr || r.Parameters["ratio"] != "0.75" {
			t.Errorf("record %s: state %s experiment %q pipeline %s@%s (template says %s) recurring %q parameters %v",
				r.Name, r.State, r.Experiment, r.PipelineName, r.PipelineVersion, names[r.Name], r.RecurringRun, r.Parameters)
		}
	}
	listed := strings.Fields(mustCLI("run", "list", "-e", exp, "--recurring-run", rr, "-o", "name"))
	if len(listed) != len(names) {
		t.Errorf("run list -e %s --recurring-run %s: %v, want the %d spawned runs", exp, rr, listed, len(names))
	}
	got := mustCLI("recurring-run", "get", rr)
	for _, want := range []string{"State:           DISABLED", "Version:         v3", third.Name, "SUCCEEDED"} {
		if !strings.Contains(got, want) {
			t.Errorf("recurring-run get: no %q in\n%s", want, got)
		}
	}

	// Delete: the CronWorkflow goes (the garbage collector orphans its Workflows), the runs stay.
	mustCLI("recurring-run", "delete", rr)
	waitUntil(t, 60*time.Second, "the CronWorkflow deleted", func() bool {
		_, err := env.argo.ArgoprojV1alpha1().CronWorkflows(env.ns).Get(ctx, rr, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	for name := range names {
		wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("workflow %s after the recurring run's deletion: %v", name, err)
			continue
		}
		if len(wf.OwnerReferences) != 0 {
			t.Errorf("workflow %s still owned by %v", name, wf.OwnerReferences)
		}
		if r, err := store.GetRun(ctx, name); err != nil || r.State != experiments.StateSucceeded {
			t.Errorf("record %s after the recurring run's deletion: %v %v", name, r.State, err)
		}
	}
	if out, _, err := env.cli.Run(t, "pipeline", "delete", pipe, "--version", "v1"); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("delete v1 once no recurring run uses it: %v %s", err, out)
	}
}
