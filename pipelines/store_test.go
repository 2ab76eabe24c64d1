package pipelines

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

const testNS = "ns"

type fixture struct {
	argo  *wffake.Clientset
	kube  *kubefake.Clientset
	store *Store
	clock time.Time
}

// newFixture is a store on fake clientsets whose clock moves one second per reading, so that each upload is
// newer than the one before.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{argo: wffake.NewSimpleClientset(), kube: kubefake.NewSimpleClientset(), clock: time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)}
	f.store = NewStore(f.argo, f.kube, testNS, func() time.Time { f.clock = f.clock.Add(time.Second); return f.clock })
	return f
}

// pipelineFile is testdata/pipelines/python-io.yaml with its description replaced (another digest per
// variant) and, when required is set, that input's default removed.
func pipelineFile(t *testing.T, variant, required string) []byte {
	t.Helper()
	data, err := os.ReadFile("../testdata/pipelines/python-io.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "Typed values, outputs and artifacts", "Variant "+variant, 1)
	if required != "" {
		p, err := translate.Load("x.yaml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		def := p.Spec.Root.InputDefinitions.Parameters[required]
		if def == nil || def.DefaultValue == nil {
			t.Fatalf("input %s has no default to remove", required)
		}
		s = strings.Replace(s, "      "+required+":\n        defaultValue: hello\n", "      "+required+":\n", 1)
		if p2, err := translate.Load("x.yaml", []byte(s)); err != nil || p2.Spec.Root.InputDefinitions.Parameters[required].DefaultValue != nil {
			t.Fatalf("could not remove the default of %s (%v)", required, err)
		}
	}
	return []byte(s)
}

func (f *fixture) upload(t *testing.T, variant, version string) Version {
	t.Helper()
	v, _, err := f.store.Upload(context.Background(), UploadRequest{File: "python-io.yaml", Data: pipelineFile(t, variant, ""), Version: version})
	if err != nil {
		t.Fatalf("upload %s: %v", variant, err)
	}
	return v
}

// creates counts the create/update/patch actions on the fake clientsets.
func (f *fixture) writes() int {
	n := 0
	for _, acts := range [][]k8stesting.Action{f.argo.Actions(), f.kube.Actions()} {
		for _, a := range acts {
			switch a.GetVerb() {
			case "create", "update", "patch", "delete":
				n++
			}
		}
	}
	return n
}

func TestUploadIsIdempotentAndVersioned(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data := pipelineFile(t, "one", "")
	v1, created, err := f.store.Upload(ctx, UploadRequest{File: "dir/python-io.yaml", Data: data, Description: "first"})
	if err != nil || !created {
		t.Fatalf("upload: created=%v err=%v", created, err)
	}
	p, _ := translate.Load("x.yaml", data)
	if v1.Pipeline != "python-io" || v1.Name != DefaultVersionName(p.Digest) || v1.Digest != p.Digest || !v1.Latest {
		t.Errorf("version = %+v", v1)
	}
	if !strings.HasPrefix(v1.Name, "sha256-") || len(v1.Name) != len("sha256-")+12 {
		t.Errorf("default version name %q", v1.Name)
	}
	tmpl, err := f.argo.ArgoprojV1alpha1().WorkflowTemplates(testNS).Get(ctx, v1.Template, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{translate.LabelPipeline: "python-io", experiments.LabelPipelineVersion: v1.Name, translate.LabelManagedBy: "kfp-argo"} {
		if tmpl.Labels[k] != want || tmpl.Spec.WorkflowMetadata.Labels[k] != want {
			t.Errorf("label %s = %q / workflowMetadata %q, want %q", k, tmpl.Labels[k], tmpl.Spec.WorkflowMetadata.Labels[k], want)
		}
	}
	if tmpl.Annotations[AnnotationSourceFile] != "python-io.yaml" || tmpl.Annotations[AnnotationSourceBytes] == "" ||
		tmpl.Annotations[translate.AnnotationIRDigest] != p.Digest || tmpl.Annotations[AnnotationVersionDescription] != "first" {
		t.Errorf("annotations: %v", tmpl.Annotations)
	}
	if kept, err := Spec(tmpl); err != nil || kept.Digest != p.Digest {
		t.Errorf("kept pipeline file: %v", err)
	}

	// The same file again: nothing is written.
	before := f.writes()
	again, created, err := f.store.Upload(ctx, UploadRequest{File: "python-io.yaml", Data: data})
	if err != nil || created || again.Name != v1.Name || f.writes() != before {
		t.Errorf("re-upload: created=%v err=%v version %s, %d writes", created, err, again.Name, f.writes()-before)
	}
	// The same version name with another file is refused.
	_, _, err = f.store.Upload(ctx, UploadRequest{File: "other.yaml", Data: pipelineFile(t, "two", ""), Version: v1.Name})
	if !errors.Is(err, ErrAlreadyExists) || !strings.Contains(err.Error(), "choose another --version") {
		t.Errorf("same version, other file: %v", err)
	}
	if _, _, err := f.store.Upload(ctx, UploadRequest{File: "x.yaml", Data: data, Version: "latest"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("--version latest: %v", err)
	}

	v2 := f.upload(t, "two", "v2")
	vs, err := f.store.Versions(ctx, "python-io")
	if err != nil || len(vs) != 2 || vs[0].Name != "v2" || !vs[0].Latest || vs[1].Latest {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if got, _, err := f.store.Get(ctx, Ref{Pipeline: "python-io"}); err != nil || got.Name != v2.Name {
		t.Errorf("latest = %s, %v", got.Name, err)
	}
	if got, _, err := f.store.Get(ctx, Ref{Pipeline: "python-io", Version: v1.Name}); err != nil || got.Name != v1.Name {
		t.Errorf("get v1 = %s, %v", got.Name, err)
	}
	if _, _, err := f.store.Get(ctx, Ref{Pipeline: "python-io", Version: "v9"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "versions: v2, "+v1.Name) {
		t.Errorf("unknown version: %v", err)
	}
	if _, _, err := f.store.Get(ctx, Ref{Pipeline: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown pipeline: %v", err)
	}
	ps, err := f.store.List(ctx)
	if err != nil || len(ps) != 1 || ps[0].Versions != 2 || ps[0].LatestVersion != "v2" {
		t.Errorf("list = %+v, %v", ps, err)
	}
	deleted, err := f.store.Delete(ctx, "python-io", v1.Name)
	if err != nil || len(deleted) != 1 {
		t.Errorf("delete v1: %v", err)
	}
	if vs, _ := f.store.Versions(ctx, "python-io"); len(vs) != 1 {
		t.Errorf("after delete: %+v", vs)
	}
}

// TestRunWorkflowChecksParameters: a run of a version references its template, carries the record's metadata,
// passes Argo's validator, and its parameters are checked as `submit FILE -p` checks them.
func TestRunWorkflowChecksParameters(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, _, err := f.store.Upload(ctx, UploadRequest{File: "p.yaml", Data: pipelineFile(t, "req", "message"), Name: "train", Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	v, tmpl, err := f.store.Get(ctx, Ref{Pipeline: "train"})
	if err != nil {
		t.Fatal(err)
	}
	wf, err := RunWorkflow(v, tmpl, RunInputs{Parameters: map[string]any{"message": "hi {{workflow.name}}", "count": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Spec.WorkflowTemplateRef == nil || wf.Spec.WorkflowTemplateRef.Name != tmpl.Name || len(wf.Spec.Templates) != 0 {
		t.Errorf("spec = %+v", wf.Spec)
	}
	args := map[string]string{}
	for _, a := range wf.Spec.Arguments.Parameters {
		args[a.Name], _ = translate.DecodeValue(a.Value.String())
	}
	if args["message"] != "hi {{workflow.name}}" || args["count"] != "7" || args["ratio"] != "0.5" {
		t.Errorf("arguments = %v", args)
	}
	if wf.Labels[translate.LabelPipeline] != "train" || wf.Annotations[experiments.AnnotationPipelineVersion] != "v1" ||
		wf.Annotations[translate.AnnotationTaskNames] == "" {
		t.Errorf("metadata: %v %v", wf.Labels, wf.Annotations)
	}
	run := experiments.MapWorkflow(wf, nil, time.Now())
	if run.PipelineName != "train" || run.PipelineVersion != "v1" {
		t.Errorf("record: pipeline %q version %q", run.PipelineName, run.PipelineVersion)
	}
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"message": "x", "nope": "1"}, `parameter "nope": the pipeline has no such input`},
		{map[string]any{"message": "x", "count": "1.5"}, `parameter "count" (NUMBER_INTEGER): expected an integer`},
		{map[string]any{"message": "x", "flag": "maybe"}, `parameter "flag" (BOOLEAN)`},
		{map[string]any{}, "give a value for message with -p"},
	} {
		if _, err := RunWorkflow(v, tmpl, RunInputs{Parameters: c.params}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("params %v: err = %v, want %q", c.params, err, c.want)
		}
	}
}

// A pipeline input artifact without a location stays the version's input (translate's ArtifactArguments):
// upload takes the pipeline; each run gives the location with --input-artifact, checked as compile checks it;
// a run without it, and a recurring run (which has no run to ask), are refused before anything is created.
func TestVersionWithInputArtifact(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data, err := os.ReadFile("../translate/testdata/sdk/pipeline-input-artifact.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.Upload(ctx, UploadRequest{File: "pipeline-input-artifact.yaml", Data: data, Name: "ingest", Version: "v1"}); err != nil {
		t.Fatalf("upload of a pipeline with an input artifact: %v", err)
	}
	v, tmpl, err := f.store.Get(ctx, Ref{Pipeline: "ingest"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunWorkflow(v, tmpl, RunInputs{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--input-artifact data=URI") {
		t.Errorf("run without the artifact: %v", err)
	}
	if _, err := RunWorkflow(v, tmpl, RunInputs{Artifacts: map[string]string{"data": "s3://elsewhere/x.csv"}}); err == nil || !strings.Contains(err.Error(), "--artifact-store") {
		t.Errorf("run with an S3 artifact of an unknown bucket: %v, want the --artifact-store hint", err)
	}
	if _, err := RunWorkflow(v, tmpl, RunInputs{Artifacts: map[string]string{"data": "gs://b/x.csv", "nope": "gs://b/y"}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("run with an unknown artifact: %v", err)
	}
	wf, err := RunWorkflow(v, tmpl, RunInputs{Artifacts: map[string]string{"data": "gs://b/uploads/x.csv"}})
	if err != nil {
		t.Fatal(err)
	}
	if a := wf.Spec.Arguments.Artifacts; len(a) != 1 || a[0].Name != "data" || a[0].GCS == nil || a[0].GCS.Bucket != "b" || a[0].GCS.Key != "uploads/x.csv" {
		t.Errorf("argument artifacts %+v", a)
	}
	_, err = f.store.NewRecurringRun(ctx, RecurringRunRequest{Name: "nightly", Experiment: "x", Ref: Ref{Pipeline: "ingest"},
		Schedule: Schedule{Cron: "0 3 * * *"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "input artifacts (data)") {
		t.Errorf("recurring run of a pipeline with input artifacts: %v", err)
	}
}
