package translate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
)

// The fixtures in testdata/sdk are pipeline specs written as KFP SDK 2.16 (or, where named, an older SDK or
// kfp-kubernetes release) emits them, for SDK features the corpus in ../shared/kfp-ir lacks.

// compileSDKFixture compiles testdata/sdk/NAME and checks the result with Argo's validator.
func compileSDKFixture(t *testing.T, name string, opts Options) *wfv1.Workflow {
	t.Helper()
	p, err := LoadFile(filepath.Join("testdata", "sdk", name))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

// TestEveryRunPlaceholder runs a container component whose command line holds every run placeholder and fields of
// its input artifact's metadata: each arrives as KFP resolves it, and the one template shared by two tasks gives
// each its own task name (the DAG key, as KFP's driver gives it, not the display name).
func TestEveryRunPlaceholder(t *testing.T) {
	store := "s3://bucket"
	wf := compileSDKFixture(t, "run-placeholders.yaml", Options{ArtifactStore: store})
	r := newArgoRun(t, wf)
	r.g["workflow.creationTimestamp"] = "2026-12-01T04:05:06Z"
	if err := os.MkdirAll(filepath.Join(r.dir, "store", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "store", "data", "in.txt"), []byte("imported"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.run()
	for _, task := range []string{"show", "show-2"} {
		want := map[string]string{
			"content":       "imported",
			"key":           "value",
			"inner":         "deep",
			"count":         "3",
			"braces":        "{{not for argo}}",
			"missing":       "",
			"whole":         `{"braces":"{{not for argo}}","count":3,"key":"value","nested":{"inner":"deep"}}`,
			"uri":           "s3://bucket/data/in.txt",
			"task_name":     task,
			"task_id":       r.podName[r.name+"."+task],
			"job_name":      r.name,
			"resource_name": r.name,
			"job_id":        "0b1c2d3e",
			"created":       "2026-12-01T04:05:06Z",
			"scheduled":     "2026-12-01T04:05:06Z",
			"root":          store + "/kfp-argo",
		}
		if task == "show" {
			want["label"] = "show of " + r.name
		} else {
			want["label"] = "show-2"
		}
		for name, v := range want {
			if got := r.param(t, task, name); got != v {
				t.Errorf("%s: %s = %q, want %q", task, name, got, v)
			}
		}
	}
	if n := len(wf.Spec.Templates); n != 2 {
		t.Errorf("%d templates, want 2 (the DAG and one shared by both tasks)", n)
	}
}

// TestInputArtifactAsTemplateArgument: with ArtifactArguments (compile --kind workflowtemplate), a pipeline input
// artifact without --input-artifact is an input artifact of the entrypoint without a location, which Argo's
// WorkflowTemplate validator accepts (it refuses spec.arguments.artifacts without one); a run that supplies it
// as a workflow argument reads the data. Without ArtifactArguments it is an error that says how to give it.
func TestInputArtifactAsTemplateArgument(t *testing.T) {
	p, err := LoadFile(filepath.Join("testdata", "sdk", "pipeline-input-artifact.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(p, Options{}); err == nil || !strings.Contains(err.Error(), "--input-artifact data=URI (or compile with --kind workflowtemplate") {
		t.Errorf("without ArtifactArguments: %v", err)
	}
	wf, err := Compile(p, Options{ArtifactArguments: true})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := ToWorkflowTemplate(wf)
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflowTemplate(wt); err != nil {
		t.Fatal(err)
	}
	if a := templateNamed(t, wf, wf.Spec.Entrypoint).Inputs.Artifacts; len(a) != 1 || a[0].Name != "data" || a[0].HasLocation() {
		t.Fatalf("argument artifacts %+v, want one named data without a location", a)
	}
	// A run made from the template: the Workflow supplies the location (here an S3 key of the repository).
	run := wf.DeepCopy()
	run.Spec.Arguments.Artifacts = []wfv1.Artifact{{Name: "data", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "uploads/data.csv"}}}}
	if err := argo.ValidateWorkflow(run); err != nil {
		t.Fatal(err)
	}
	r := newArgoRun(t, run)
	data := filepath.Join(r.dir, "store", "uploads", "data.csv")
	if err := os.MkdirAll(filepath.Dir(data), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.dag(templateNamed(t, run, run.Spec.Entrypoint), r.name, map[string]any{"inputs.artifacts.data": data})
	r.expect(t, "count", "summary", "rows: 3")
}
