package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
)

// variantFile writes testdata/pipelines/python-io.yaml with another description (so another digest).
func variantFile(t *testing.T, variant string) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/pipelines/python-io.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "python-io.yaml")
	s := strings.Replace(string(data), "Typed values, outputs and artifacts", "Variant "+variant, 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// countObjects is how many Workflows, CronWorkflows and ConfigMaps the fake cluster holds.
func (fc *fakeCluster) countObjects(t *testing.T) (wfs, crons, cms int) {
	t.Helper()
	ctx := context.Background()
	w, err := fc.argo.ArgoprojV1alpha1().Workflows("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fc.argo.ArgoprojV1alpha1().CronWorkflows("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := fc.kube.CoreV1().ConfigMaps("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(w.Items), len(c.Items), len(m.Items)
}

func TestPipelineCommands(t *testing.T) {
	fc := newFakeCluster()
	v1, v2 := variantFile(t, "one"), variantFile(t, "two")
	mustCLI := func(args ...string) string {
		t.Helper()
		out, err := fc.cli(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := mustCLI("pipeline", "upload", v1, "--version", "v1"); out != "pipeline/python-io@v1 uploaded\n" {
		t.Errorf("upload: %q", out)
	}
	if out := mustCLI("pipeline", "upload", v1, "--version", "v1"); !strings.Contains(out, "unchanged") {
		t.Errorf("re-upload: %q", out)
	}
	if _, err := fc.cli("pipeline", "upload", v2, "--version", "v1"); err == nil || !strings.Contains(err.Error(), "choose another --version") {
		t.Errorf("same version, other file: %v", err)
	}
	mustCLI("pipeline", "upload", v2, "--version", "v2", "--description", "second")
	if out := mustCLI("pipeline", "list", "--no-headers"); !strings.HasPrefix(out, "python-io") || !strings.Contains(out, "  2  ") || !strings.Contains(out, "v2") {
		t.Errorf("list: %q", out)
	}
	if out := mustCLI("pipeline", "versions", "python-io", "-o", "name"); out != "pipeline/python-io@v2\npipeline/python-io@v1\n" {
		t.Errorf("versions: %q", out)
	}
	out := mustCLI("pipeline", "get", "python-io")
	for _, want := range []string{"Version:      v2", "Latest:       yes", "Description:  second", "ratio = 0.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("get: no %q in\n%s", want, out)
		}
	}
	var tmpl wfv1.WorkflowTemplate
	if err := yaml.UnmarshalStrict([]byte(mustCLI("pipeline", "get", "python-io@v1", "-o", "yaml")), &tmpl); err != nil || tmpl.Kind != "WorkflowTemplate" ||
		tmpl.Name != pipelines.TemplateName("python-io", "v1") || len(tmpl.Spec.Templates) == 0 {
		t.Errorf("get -o yaml: %v, kind %q name %q", err, tmpl.Kind, tmpl.Name)
	}

	// A run of a version: a Workflow referencing its template; its record names the version.
	var run experiments.Run
	if err := yaml.Unmarshal([]byte(mustCLI("submit", "--pipeline", "python-io@v1", "-e", "exp", "-p", "ratio=0.25", "-o", "json")), &run); err != nil {
		t.Fatal(err)
	}
	if run.PipelineName != "python-io" || run.PipelineVersion != "v1" || run.Experiment != "exp" || run.Parameters["ratio"] != "0.25" {
		t.Errorf("run = %+v", run)
	}
	wf := fc.workflow(t, run.Name)
	if wf.Spec.WorkflowTemplateRef == nil || wf.Spec.WorkflowTemplateRef.Name != pipelines.TemplateName("python-io", "v1") {
		t.Errorf("workflow spec: %+v", wf.Spec)
	}
	mustCLI("submit", "--pipeline", "python-io", "-r", "latest-run")
	if got := fc.workflow(t, "latest-run").Spec.WorkflowTemplateRef.Name; got != pipelines.TemplateName("python-io", "v2") {
		t.Errorf("--pipeline NAME ran %s, want the latest (v2)", got)
	}
	if out := mustCLI("run", "list", "--pipeline", "python-io@v1", "-o", "name"); out != "run/"+run.Name+"\n" {
		t.Errorf("run list --pipeline python-io@v1: %q", out)
	}
	if out := mustCLI("run", "get", run.Name); !strings.Contains(out, "Pipeline:      python-io@v1") {
		t.Errorf("run get:\n%s", out)
	}

	// Bad input: nothing is created.
	wfs, crons, cms := fc.countObjects(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "--pipeline", "nope"}, `pipeline "nope": not found`},
		{[]string{"submit", "--pipeline", "python-io@v9"}, `pipeline "python-io" has no version "v9" (versions: v2, v1)`},
		{[]string{"submit", "--pipeline", "python-io", "-p", "nope=1"}, `parameter "nope": the pipeline has no such input`},
		{[]string{"submit", "--pipeline", "python-io", "-p", "count=lots"}, `parameter "count" (NUMBER_INTEGER): expected an integer`},
		{[]string{"submit", "--pipeline", "python-io", "--no-cache"}, "--no-cache apply to pipeline files only"},
		{[]string{"submit", v1, "--pipeline", "python-io"}, "not both"},
		{[]string{"submit"}, "a pipeline file or --pipeline"},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--pipeline", "nope", "--every", "1h"}, `pipeline "nope": not found`},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--pipeline", "python-io@v9", "--every", "1h"}, `no version "v9"`},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--pipeline", "python-io", "--cron", "every day"}, `--cron "every day"`},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--pipeline", "python-io", "--every", "30s"}, "--every 30s: invalid: Argo schedules at most once a minute"},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--pipeline", "python-io", "--every", "1h", "-p", "flag=maybe"}, `parameter "flag" (BOOLEAN)`},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--pipeline", "python-io", "--every", "1h", "--start", "tomorrow"}, "--start \"tomorrow\": expected an RFC 3339 time"},
		{[]string{"recurring-run", "create", "rr", "-e", "new-exp", "--every", "1h"}, `required flag(s) "pipeline" not set`},
	} {
		if _, err := fc.cli(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
	if w, c, m := fc.countObjects(t); w != wfs || c != crons || m != cms {
		t.Errorf("refused commands created objects: workflows %d->%d, cronworkflows %d->%d, configmaps %d->%d", wfs, w, crons, c, cms, m)
	}

	// A recurring run: create, list, get, disable, enable, delete.
	if out := mustCLI("recurring-run", "create", "hourly", "-e", "nightly", "--pipeline", "python-io@latest", "--every", "1h", "-p", "ratio=0.75"); !strings.Contains(out, "recurring-run/hourly created (python-io@latest = v2, every 1h") {
		t.Errorf("create: %q", out)
	}
	if _, err := fc.runsStore().GetExperiment(context.Background(), "nightly"); err != nil {
		t.Errorf("experiment of the recurring run: %v", err)
	}
	if out := mustCLI("recurring-run", "list", "--no-headers"); !strings.Contains(out, "hourly") || !strings.Contains(out, "ENABLED") {
		t.Errorf("list: %q", out)
	}
	out = mustCLI("recurring-run", "get", "hourly")
	for _, want := range []string{"Pipeline:        python-io@latest", "Version:         v2", "Schedule:        every 1h", "Argo schedule:   @every 1h0m0s", "Next runs:       2026-03-02T11:00:00Z", "ratio = 0.75"} {
		if !strings.Contains(out, want) {
			t.Errorf("get: no %q in\n%s", want, out)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pipeline", "get", "py"}, "python-io"},
		{[]string{"submit", "--pipeline", "python-io@"}, "python-io@latest python-io@v2 python-io@v1"},
		{[]string{"recurring-run", "create", "x", "--pipeline", "python-io@v"}, "python-io@v2 python-io@v1"},
		{[]string{"recurring-run", "disable", ""}, "hourly"},
	} {
		if got := strings.Join(fc.completions(t, c.args...), " "); got != c.want {
			t.Errorf("complete %v = %q, want %q", c.args, got, c.want)
		}
	}
	mustCLI("recurring-run", "disable", "hourly")
	if out := mustCLI("recurring-run", "get", "hourly"); !strings.Contains(out, "State:           DISABLED") || !strings.Contains(out, "Next runs:       -") {
		t.Errorf("disabled:\n%s", out)
	}
	mustCLI("recurring-run", "enable", "hourly")
	if _, err := fc.cli("pipeline", "delete", "python-io"); err == nil || !strings.Contains(err.Error(), `recurring run "hourly" runs it`) {
		t.Errorf("delete a pipeline in use: %v", err)
	}
	if out := mustCLI("recurring-run", "delete", "hourly"); out != "recurring-run/hourly deleted\n" {
		t.Errorf("delete: %q", out)
	}
	if out := mustCLI("pipeline", "delete", "python-io", "--version", "v1"); out != "pipeline/python-io@v1 deleted\n" {
		t.Errorf("delete v1: %q", out)
	}
}

func (fc *fakeCluster) runsStore() *experiments.Store {
	return experiments.NewStore(fc.kube.CoreV1().ConfigMaps("ns"))
}
