package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
)

func run(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	cmd := NewRootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// TestCompileCommand: the README's first command prints a workflow that Argo's validator accepts.
func TestCompileCommand(t *testing.T) {
	out, _, err := run("compile", "../../testdata/pipelines/container-io.yaml", "-p", "text=hi there")
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(out), &wf); err != nil {
		t.Fatalf("output is not a Workflow: %v", err)
	}
	if err := argo.ValidateWorkflow(&wf); err != nil {
		t.Fatal(err)
	}
	if got := wf.Spec.Arguments.Parameters[0].Value.String(); got != "hi there" {
		t.Errorf("-p text: got %q", got)
	}
	if strings.Contains(out, "status:") || strings.Contains(out, "creationTimestamp") {
		t.Error("manifest carries status or creationTimestamp")
	}
}

// TestCompileErrorsLeaveNothingOnStdout: bad input is an error naming the file, and stdout stays empty.
func TestCompileErrorsLeaveNothingOnStdout(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("pipelineInfo: {name: x}\nroot: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"compile", bad},
		{"compile", "../../testdata/pipelines/container-io.yaml", "-p", "nope=1"},
		{"compile", "../../testdata/pipelines/container-io.yaml", "-o", "xml"},
		{"compile", filepath.Join(dir, "missing.yaml")},
	} {
		out, _, err := run(args...)
		if err == nil {
			t.Errorf("%v: no error", args)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", args, out)
		}
	}
	_, _, err := run("compile", bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+": ") {
		t.Errorf("error does not name the file: %v", err)
	}
}

func TestCompileJSONAndParamsFile(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "params.yaml")
	if err := os.WriteFile(pf, []byte("text: from file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run("compile", "../../testdata/pipelines/container-io.yaml", "--params-file", pf, "-o", "json", "--no-cache", "--name", "my-run", "--artifact-repository-ref", "repos/s3-main")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "{") || !strings.Contains(out, `"value": "from file"`) || strings.Contains(out, "memoize") || !strings.Contains(out, `"name": "my-run"`) ||
		!strings.Contains(out, `"artifactRepositoryRef": {
      "configMap": "repos",
      "key": "s3-main"
    }`) {
		t.Errorf("unexpected output:\n%s", out[:min(len(out), 600)])
	}
}

func TestCompileWorkflowSettings(t *testing.T) {
	out, _, err := run("compile", "../../testdata/pipelines/container-io.yaml", "--ttl", "24h", "--active-deadline", "2h",
		"--parallelism", "5", "--pod-gc", "OnPodSuccess", "--instance-id", "ci", "--service-account", "runner")
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(out), &wf); err != nil {
		t.Fatal(err)
	}
	s := wf.Spec
	if *s.TTLStrategy.SecondsAfterCompletion != 86400 || *s.ActiveDeadlineSeconds != 7200 || *s.Parallelism != 5 ||
		s.PodGC.Strategy != wfv1.PodGCOnPodSuccess || s.ServiceAccountName != "runner" || wf.Labels["workflows.argoproj.io/controller-instanceid"] != "ci" {
		t.Errorf("settings not applied: %+v labels %v", s, wf.Labels)
	}
	if _, _, err := run("compile", "../../testdata/pipelines/container-io.yaml", "--pod-gc", "Sometimes"); err == nil {
		t.Error("an unknown --pod-gc was accepted")
	}
}

// TestCompileKinds: each --kind prints an object of that kind that Argo's validator for the kind accepts.
func TestCompileKinds(t *testing.T) {
	fixture := "../../testdata/pipelines/platform-volumes.yaml"
	out, _, err := run("compile", fixture, "--kind", "workflowtemplate", "--labels", "team=ml,env=dev", "--annotations", "owner=me")
	if err != nil {
		t.Fatal(err)
	}
	var wt wfv1.WorkflowTemplate
	if err := yaml.UnmarshalStrict([]byte(out), &wt); err != nil || wt.Kind != "WorkflowTemplate" {
		t.Fatalf("not a WorkflowTemplate (%v):\n%s", err, out)
	}
	if err := argo.ValidateWorkflowTemplate(&wt); err != nil {
		t.Fatal(err)
	}
	if wt.Labels["team"] != "ml" || wt.Labels["env"] != "dev" || wt.Annotations["owner"] != "me" || wt.Spec.WorkflowMetadata.Labels["team"] != "ml" {
		t.Errorf("labels %v annotations %v", wt.Labels, wt.Annotations)
	}
	out, _, err = run("compile", fixture, "--kind", "cronworkflow", "--schedule", "0 3 * * *", "--schedule", "0 15 * * *", "--timezone", "UTC", "--concurrency-policy", "Replace", "--starting-deadline", "2m")
	if err != nil {
		t.Fatal(err)
	}
	var cw wfv1.CronWorkflow
	if err := yaml.UnmarshalStrict([]byte(out), &cw); err != nil || cw.Kind != "CronWorkflow" {
		t.Fatalf("not a CronWorkflow (%v):\n%s", err, out)
	}
	if err := argo.ValidateCronWorkflow(&cw); err != nil {
		t.Fatal(err)
	}
	if len(cw.Spec.Schedules) != 2 || cw.Spec.Schedule != "" || strings.Contains(out, "\n  schedule:") || *cw.Spec.StartingDeadlineSeconds != 120 || cw.Spec.ConcurrencyPolicy != "Replace" {
		t.Errorf("cron spec %+v", cw.Spec)
	}
	for _, args := range [][]string{
		{"compile", fixture, "--kind", "cronjob"},
		{"compile", fixture, "--kind", "cronworkflow"},
		{"compile", fixture, "--schedule", "0 3 * * *"},
		{"compile", fixture, "--labels", "bad label=x"},
		{"compile", fixture, "--labels", "novalue"},
	} {
		if out, _, err := run(args...); err == nil || out != "" {
			t.Errorf("%v: err %v, stdout %q", args, err, out)
		}
	}
}

// TestLint: one line per file, ok or error, and a failure when any file fails.
func TestLint(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("pipelineInfo: {name: x}\nroot: {dag: {tasks: {}}}\nextra: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "../../testdata/pipelines/platform-scheduling.yaml"
	out, _, err := run("lint", good, "../../testdata/pipelines/workspace.yaml")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out != good+": ok\n../../testdata/pipelines/workspace.yaml: ok\n" {
		t.Errorf("output %q", out)
	}
	out, _, err = run("lint", good, bad)
	if err == nil {
		t.Error("a failing file did not fail lint")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != good+": ok" || !strings.HasPrefix(lines[1], bad+": error: extra: unknown field") {
		t.Errorf("output %q", out)
	}
	if out, _, err := run("lint", "--kind", "cronworkflow", good); err != nil || !strings.HasSuffix(out, ": ok\n") {
		t.Errorf("cron lint: %v %q", err, out)
	}
}

// TestLintDirectory: a directory argument is linted as `argo lint DIR` does: every pipeline file under it
// (YAML, JSON, packages), in name order; other files are not pipelines and are left out.
func TestLintDirectory(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../testdata/pipelines/workspace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"b.yaml", "sub/a.yml", "sub/deeper/c.yaml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not a pipeline\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run("lint", dir)
	want := filepath.Join(dir, "b.yaml") + ": ok\n" + filepath.Join(dir, "sub/a.yml") + ": ok\n" + filepath.Join(dir, "sub/deeper/c.yaml") + ": ok\n"
	if err != nil || out != want {
		t.Errorf("lint DIR: %v\n%s\nwant\n%s", err, out, want)
	}
	if _, _, err := run("lint", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no pipeline files") {
		t.Errorf("lint of a directory without pipelines: %v", err)
	}
}

// TestCompileAndLintStopWhenInterrupted: after Ctrl-C or SIGTERM (main's context is cancelled) compile and lint
// stop with an error and print nothing.
func TestCompileAndLintStopWhenInterrupted(t *testing.T) {
	for _, args := range [][]string{
		{"compile", "../../testdata/pipelines/container-io.yaml"},
		{"lint", "../../testdata/pipelines/container-io.yaml", "../../testdata/pipelines/loops.yaml"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out bytes.Buffer
		cmd := NewRootCommand()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "interrupted") || out.Len() != 0 {
			t.Errorf("%v after the interrupt: err %v, output %q", args, err, out.String())
		}
	}
}
