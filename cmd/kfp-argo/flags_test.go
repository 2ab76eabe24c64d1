package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// compileOnly are the compile flags that submit has no use for: the output kind and format (submit creates a
// Workflow), the object's name and namespace (submit's -r and -n) and the schedule of a CronWorkflow.
var compileOnly = map[string]bool{
	"output": true, "name": true, "generate-name": true, "namespace": true, "kind": true, "schedule": true, "timezone": true,
	"concurrency-policy": true, "starting-deadline": true, "argo-version": true, "experiment": true,
}

// TestSubmitHasEveryCompileFlag: every flag that shapes the compiled Workflow is one flag of submit too, with
// the same type and help, so the two commands cannot drift.
func TestSubmitHasEveryCompileFlag(t *testing.T) {
	compile, submit := newCompileCommand(), newSubmitCommand(defaultEnv())
	n := 0
	compile.Flags().VisitAll(func(f *pflag.Flag) {
		if compileOnly[f.Name] {
			return
		}
		n++
		s := submit.Flags().Lookup(f.Name)
		if s == nil {
			t.Errorf("submit has no --%s", f.Name)
			return
		}
		if s.Shorthand != f.Shorthand || s.Usage != f.Usage || s.Value.Type() != f.Value.Type() {
			t.Errorf("--%s differs: compile (-%s %s %q), submit (-%s %s %q)", f.Name, f.Shorthand, f.Value.Type(), f.Usage,
				s.Shorthand, s.Value.Type(), s.Usage)
		}
	})
	if n < 14 {
		t.Errorf("only %d shared flags: the shared set was not registered", n)
	}
}

// TestSubmitAppliesWorkflowSettings: the settings compile applies reach the Workflow that submit creates.
func TestSubmitAppliesWorkflowSettings(t *testing.T) {
	fc := newFakeCluster()
	if _, err := fc.cli("submit", pipelineFile, "-r", "s1", "--ttl", "24h", "--active-deadline", "2h", "--parallelism", "5",
		"--pod-gc", "OnPodSuccess", "--service-account", "runner", "--labels", "team=ml", "--annotations", "note=x"); err != nil {
		t.Fatal(err)
	}
	wf := fc.workflow(t, "s1")
	s := wf.Spec
	if s.TTLStrategy == nil || *s.TTLStrategy.SecondsAfterCompletion != 86400 || *s.ActiveDeadlineSeconds != 7200 || *s.Parallelism != 5 ||
		s.PodGC.Strategy != wfv1.PodGCOnPodSuccess || s.ServiceAccountName != "runner" || wf.Labels["team"] != "ml" || wf.Annotations["note"] != "x" {
		t.Errorf("settings not applied: %+v labels %v annotations %v", s, wf.Labels, wf.Annotations)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Error(err)
	}
	// A plain Argo manifest is taken as it is: pipeline settings are refused by name.
	plain := filepath.Join(t.TempDir(), "wf.yaml")
	manifest := "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: p}\nspec:\n  entrypoint: main\n" +
		"  templates:\n  - name: main\n    container: {image: busybox}\n"
	if err := os.WriteFile(plain, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.cli("submit", plain, "--ttl", "1h"); err == nil || !strings.Contains(err.Error(), "is an Argo Workflow: --ttl apply") {
		t.Errorf("plain workflow with --ttl: %v", err)
	}
}

// TestCompileExperiment: compile -e puts the experiment where the run record reads it, on the Workflow and
// on the workflows a CronWorkflow creates.
func TestCompileExperiment(t *testing.T) {
	out, _, err := run("compile", pipelineFile, "-e", "lr sweep")
	if err != nil {
		t.Fatal(err)
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(out), &wf); err != nil {
		t.Fatal(err)
	}
	if wf.Annotations[experiments.AnnotationExperiment] != "lr sweep" || wf.Labels[experiments.LabelExperiment] != experiments.LabelValue("lr sweep") ||
		wf.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
		t.Errorf("labels %v annotations %v", wf.Labels, wf.Annotations)
	}
	if r := experiments.MapWorkflow(&wf, nil, testNow); r.Experiment != "lr sweep" {
		t.Errorf("run record of the compiled workflow: experiment %q", r.Experiment)
	}
	out, _, err = run("compile", pipelineFile, "-e", "nightly", "--kind", "cronworkflow", "--schedule", "0 3 * * *", "-p", "text=x")
	if err != nil {
		t.Fatal(err)
	}
	var cw wfv1.CronWorkflow
	if err := yaml.UnmarshalStrict([]byte(out), &cw); err != nil {
		t.Fatal(err)
	}
	if m := cw.Spec.WorkflowMetadata; m == nil || m.Annotations[experiments.AnnotationExperiment] != "nightly" || m.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
		t.Errorf("cron workflowMetadata %+v", cw.Spec.WorkflowMetadata)
	}
	if _, _, err := run("compile", pipelineFile, "-e", strings.Repeat("x", 300)); err == nil {
		t.Error("an unusable experiment name was accepted")
	}
}

func TestVersionLine(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine("", info), "kfp-argo v0.3.0 (git 0123456789ab-dirty), Argo Workflows API v3.7.18"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := versionLine("v1.0.0", &debug.BuildInfo{}), "kfp-argo v1.0.0, Argo Workflows API v3.7.18"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := versionLine("", nil); got != "kfp-argo (devel), Argo Workflows API v3.7.18" {
		t.Errorf("got %q", got)
	}
}
