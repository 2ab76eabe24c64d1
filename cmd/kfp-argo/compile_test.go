package main

import (
	"bytes"
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
