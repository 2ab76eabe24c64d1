package translate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
)

// The fixtures in testdata/sdk are pipeline specs written as KFP SDK 2.16 (or, where named, an older SDK or
// kfp-kubernetes release) emits them, for SDK features the corpus in ../shared/kfp-ir lacks.

// compileSDKFixture compiles testdata/sdk/NAME and checks the result with Argo's validator.
func compileSDKFixture(t *testing.T, name string, opts Options) *wfv1.Workflow {
	t.Helper()
	return compileSpec(t, name, readSDKFixture(t, name), opts)
}

// TestEveryRunPlaceholder runs a container component whose command line holds every run placeholder and fields of
// its input artifact's metadata: each arrives as KFP resolves it, and the one template shared by two tasks gives
// each its own task name (the DAG key, as KFP's driver gives it, not the display name).
func TestEveryRunPlaceholder(t *testing.T) {
	store := "s3://bucket"
	wf := compileSDKFixture(t, "run-placeholders.yaml", Options{ArtifactStore: store})
	r := newArgoRun(t, wf)
	for k, v := range map[string]string{"": "2026-12-01T04:05:06Z", ".RFC3339": "2026-12-01T04:05:06Z", ".Y": "2026", ".s": "1796097906"} {
		r.g["workflow.creationTimestamp"+k] = v // as Argo's globals hold it
	}
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

// TestImporterURIFromARunParameter: an importer whose URI is a pipeline parameter without default compiles
// when its scheme is known from -p (bucket and key are still read from the run's value, which argo submit -p
// may change) or from --artifact-store (the URI is then taken to be in the repository); otherwise the error says
// how to give it. An importer with an empty URI passes its metadata on (a Vertex AI model by resourceName), and
// its consumers get an empty file as the artifact's data.
func TestImporterURIFromARunParameter(t *testing.T) {
	p, err := LoadFile(filepath.Join("testdata", "sdk", "importer-runtime-uri.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(p, Options{}); err == nil || !strings.Contains(err.Error(), `-p NAME=SCHEME://BUCKET/KEY), or give --artifact-store SCHEME://BUCKET`) {
		t.Errorf("scheme unknown: %v", err)
	}
	for _, c := range []struct {
		opts            Options
		run             string // the value the run gets (argo submit -p)
		bucket, key     string
		wantGCS, wantS3 bool
	}{
		{Options{Parameters: map[string]any{"data_uri": "gs://compile-bucket/a.csv"}}, "gs://run-bucket/dir/b.csv", "run-bucket", "dir/b.csv", true, false},
		{Options{ArtifactStore: "gs://repo"}, "gs://repo/x/y.csv", "repo", "x/y.csv", true, false},
		{Options{ArtifactStore: "minio://mlpipeline"}, "minio://mlpipeline/v2/artifacts/z", "mlpipeline", "v2/artifacts/z", false, true},
	} {
		wf, err := Compile(p, c.opts)
		if err != nil {
			t.Fatalf("%+v: %v", c.opts, err)
		}
		if err := argo.ValidateWorkflow(wf); err != nil {
			t.Fatal(err)
		}
		task := dagTask(t, wf, "describe")
		scope := map[string]any{}
		for k, v := range globals(wf, map[string]string{"data_uri": c.run}) {
			scope[k] = v
		}
		args := replaceIn(t, task.Arguments, scope, false)
		var data, model *wfv1.Artifact
		for i := range args.Artifacts {
			switch args.Artifacts[i].Name {
			case "data":
				data = &args.Artifacts[i]
			case "model":
				model = &args.Artifacts[i]
			}
		}
		switch {
		case c.wantGCS && (data.GCS == nil || data.GCS.Bucket != c.bucket || data.GCS.Key != c.key):
			t.Errorf("%s: location %+v, want GCS %s/%s", c.run, data.ArtifactLocation, c.bucket, c.key)
		case c.wantS3 && (data.S3 == nil || data.S3.Bucket != c.bucket || data.S3.Key != c.key):
			t.Errorf("%s: location %+v, want S3 %s/%s", c.run, data.ArtifactLocation, c.bucket, c.key)
		}
		if model.Raw == nil || model.Raw.Data != "" {
			t.Errorf("the Vertex model's artifact %+v, want an empty raw artifact", model.ArtifactLocation)
		}
		tmpl := renderTask(t, wf, task, globals(wf, map[string]string{"data_uri": c.run}), nil)
		if got := decodeInert(tmpl.Container.Command[len(tmpl.Container.Command)-2]); got != "projects/p/locations/us-central1/models/42" {
			t.Errorf("metadata['resourceName'] = %q", got)
		}
	}
	bad := strings.Replace(readSDKFixture(t, "importer-runtime-uri.yaml"), "resourceName: projects/p/locations/us-central1/models/42", "{}", 1)
	bad = strings.Replace(bad, "        metadata:\n          {}\n", "", 1)
	if p, err := Load("bad.yaml", []byte(bad)); err != nil {
		t.Fatal(err)
	} else if _, err := Compile(p, Options{ArtifactStore: "gs://repo"}); err == nil || !strings.Contains(err.Error(), `root.dag.tasks["importer-2"].inputs.parameters["uri"].runtimeValue.constant: an importer with an empty URI needs metadata`) {
		t.Errorf("empty URI without metadata: %v", err)
	}
}

func readSDKFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sdk", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestOlderKFPKubernetesCreatePVC: kfp-kubernetes 0.x's CreatePVC input storage_class is read as today's
// storage_class_name (the claim gets that storage class), with its type checked; giving both names is an error.
func TestOlderKFPKubernetesCreatePVC(t *testing.T) {
	wf := compileSDKFixture(t, "kfp-kubernetes-0.x-pvc.yaml", Options{})
	task := dagTask(t, wf, "createpvc")
	tmpl := renderTask(t, wf, task, globals(wf, nil), nil)
	var pvc struct {
		Metadata struct{ Name string }
		Spec     struct {
			AccessModes      []string `json:"accessModes"`
			StorageClassName *string  `json:"storageClassName"`
			Resources        struct{ Requests map[string]string }
		}
	}
	if err := yaml.Unmarshal([]byte(tmpl.Resource.Manifest), &pvc); err != nil {
		t.Fatalf("%v:\n%s", err, tmpl.Resource.Manifest)
	}
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "standard" || pvc.Metadata.Name != wfName+"-my-pvc" ||
		len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != "ReadWriteOnce" || pvc.Spec.Resources.Requests["storage"] != "1Gi" {
		t.Errorf("claim %+v from\n%s", pvc, tmpl.Resource.Manifest)
	}
	src := readSDKFixture(t, "kfp-kubernetes-0.x-pvc.yaml")
	for _, c := range []struct{ from, to, constant, want string }{
		{"        storage_class:\n          defaultValue: ''\n          isOptional: true\n          parameterType: STRING",
			"        storage_class:\n          defaultValue: 1\n          isOptional: true\n          parameterType: NUMBER_INTEGER", "2",
			`components["comp-createpvc"].inputDefinitions.parameters["storage_class"].parameterType: CreatePVC's storage_class is a STRING, not NUMBER_INTEGER`},
		{"        volume_name:\n", "        storage_class_name:\n          isOptional: true\n          parameterType: STRING\n        volume_name:\n", "standard",
			"CreatePVC takes storage_class_name or its older name storage_class, not both"},
	} {
		spec := strings.Replace(strings.Replace(src, c.from, c.to, 1), "constant: standard", "constant: "+c.constant, 1)
		p, err := Load("old.yaml", []byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compile(p, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %s", err, c.want)
		}
	}
}

// sdkFixture is one fixture of testdata/sdk with the compile options it needs and what must hold of it.
type sdkFixture struct {
	opts  Options
	check func(t *testing.T, wf *wfv1.Workflow)
}

// sdkFixtures are checked by TestSDKFixtures; the other fixtures of testdata/sdk have tests of their own
// (sdkFixturesWithOwnTests), and every file there is one or the other.
var sdkFixtures = map[string]sdkFixture{
	"literal-input.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		args := map[string]wfv1.Parameter{}
		for _, p := range wf.Spec.Arguments.Parameters {
			args[p.Name] = p
		}
		if e := args["mode"].Enum; len(e) != 2 || e[0] != "fast" || e[1] != "slow" || args["mode"].Value.String() != "fast" {
			t.Errorf("mode: %+v", args["mode"])
		}
		if e := args["level"].Enum; len(e) != 3 || e[0] != "1" || e[2] != "3" || args["level"].Value.String() != "2" {
			t.Errorf("level: %+v", args["level"])
		}
		r := newArgoRun(t, wf)
		r.run()
		r.expect(t, "echo", "Output", "fast/2")
		p, err := LoadFile(filepath.Join("testdata", "sdk", "literal-input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compile(p, Options{Parameters: map[string]any{"mode": "medium"}}); err == nil || !strings.Contains(err.Error(), "medium") {
			t.Errorf("-p mode=medium: %v", err)
		}
		wf2, err := Compile(p, Options{Parameters: map[string]any{"mode": "slow", "level": "3"}})
		if err != nil {
			t.Fatal(err)
		}
		r = newArgoRun(t, wf2)
		r.run()
		r.expect(t, "echo", "Output", "slow/3")
	}},
	"list-default-plain-scalars.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf)
		r.run()
		// KFP's driver gives a loop's collected STRINGs as a JSON list: each item arrives as the string it was.
		r.expect(t, "join", "Output", `n ["X","Y","Z","n","on"]`)
	}},
	"sdk-2.0-string-defaults.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf)
		r.run()
		r.expect(t, "show", "Output", "1000 true 0.5 [1,2] 7")
		r.expect(t, "show-2", "Output", "42 false 2 [3] 7")
	}},
	"pipeline-config-ttl.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		ttl := wf.Spec.TTLStrategy
		if ttl == nil || ttl.SecondsAfterSuccess == nil || *ttl.SecondsAfterSuccess != 3600 || ttl.SecondsAfterFailure == nil || *ttl.SecondsAfterFailure != 86400 || ttl.SecondsAfterCompletion != nil {
			t.Errorf("ttlStrategy %+v", ttl)
		}
		if d := wf.Spec.ActiveDeadlineSeconds; d == nil || *d != 7200 {
			t.Errorf("activeDeadlineSeconds %v, want 7200", d)
		}
	}},
	"workspace-path.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		if v := wf.Spec.VolumeClaimTemplates; len(v) != 1 || v[0].Spec.StorageClassName == nil || *v[0].Spec.StorageClassName != "fast" || v[0].Spec.Resources.Requests.Storage().String() != "2Gi" {
			t.Errorf("volumeClaimTemplates %+v", v)
		}
		tmpl := renderTask(t, wf, dagTask(t, wf, "write"), globals(wf, nil), nil)
		argv := append(append([]string(nil), tmpl.Container.Command...), tmpl.Container.Args...)
		if got := strings.Join(argv[len(argv)-2:], " "); got != "/kfp-workspace/data.txt /kfp-workspace" {
			t.Errorf("workspace paths %q", got)
		}
		mounted := false
		for _, m := range tmpl.Container.VolumeMounts {
			mounted = mounted || m.MountPath == "/kfp-workspace"
		}
		if !mounted {
			t.Errorf("the workspace is not mounted: %+v", tmpl.Container.VolumeMounts)
		}
	}},
	"task-options.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		train := templateNamed(t, wf, dagTask(t, wf, "train").Template)
		res := train.Container.Resources
		if res.Limits.Cpu().String() != "2" || res.Requests.Cpu().String() != "500m" || res.Limits.Memory().String() != "4G" || res.Requests.Memory().String() != "1G" || res.Limits.Name("nvidia.com/gpu", "").String() != "1" {
			t.Errorf("resources %+v", res)
		}
		if train.Container.Image != "alpine:latest" {
			t.Errorf("image %s", train.Container.Image)
		}
		rs := train.RetryStrategy
		if rs == nil || rs.Limit.IntValue() != 3 || rs.Backoff == nil || rs.Backoff.Duration != "10s" || rs.Backoff.Factor.IntValue() != 2 || rs.Backoff.MaxDuration != "1m0s" {
			t.Errorf("retryStrategy %+v", rs)
		}
		if train.Memoize == nil || strings.Contains(train.Memoize.Key, "{{") {
			t.Errorf("a cache key gives a fixed memoize key: %+v", train.Memoize)
		}
		if m := templateNamed(t, wf, dagTask(t, wf, "train-2").Template).Memoize; m != nil {
			t.Errorf("set_caching_options(False) memoizes: %+v", m)
		}
		if !strings.Contains(wf.Annotations[AnnotationTaskNames], "Train the model") {
			t.Errorf("the display name is not recorded: %s", wf.Annotations[AnnotationTaskNames])
		}
		r := newArgoRun(t, wf)
		r.run()
		r.expect(t, "train", "Output", "accurate")
		r.expect(t, "train-2", "Output", "none")
	}},
	"final-status-fields.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		hook := dagTask(t, wf, "exit-handler-1").Hooks[wfv1.ExitLifecycleEvent]
		r := newArgoRun(t, wf, kfpSDK(t))
		out := r.runHook(t, hook, "report", map[string]any{"tasks.exit-handler-1.status": "Failed"})
		if got, _ := DecodeValue(out.params["Output"]); got != "FAILED|"+r.name+"|exit-handler-1|2|exit-handler-1 ended Failed" {
			t.Errorf("PipelineTaskFinalStatus as the exit task read it: %q", got)
		}
	}},
	"ignore-upstream-failure.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		hook, ok := dagTask(t, wf, "fail-op").Hooks[wfv1.ExitLifecycleEvent]
		if !ok {
			t.Fatalf("print-op is not the exit hook of fail-op")
		}
		r := newArgoRun(t, wf, kfpSDK(t))
		// Argo's scope holds a failed task's declared output parameters, empty (found on real pods).
		out := r.runHook(t, hook, "print-op", map[string]any{"tasks.fail-op.status": "Failed", "tasks.fail-op.outputs.parameters.Output": ""})
		if got, _ := DecodeValue(out.params["Output"]); got != "message: upstream failed" {
			t.Errorf("after a failed upstream: %q", got)
		}
		out = r.runHook(t, hook, "print-op", map[string]any{"tasks.fail-op.status": "Succeeded", "tasks.fail-op.outputs.parameters.Output": "hi"})
		if got, _ := DecodeValue(out.params["Output"]); got != "message: hi" {
			t.Errorf("after a succeeded upstream: %q", got)
		}
	}},
	"python-metadata-to-container.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf, kfpSDK(t))
		r.run()
		r.expect(t, "consume", "Output", "a,b 3 b")
		r.expect(t, "show", "Output", `a,b 3 ["a","b"] {{not argo}}`)
	}},
	"nested-collected.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf)
		out := r.run()
		r.expect(t, "show", "Output", "[[10,20],[20,40]]")
		if got := out.params["Output"]; got != "[[10,20],[20,40]]" {
			t.Errorf("pipeline output %q", got)
		}
	}},
	"if-elif-else.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		p, err := LoadFile(filepath.Join("testdata", "sdk", "if-elif-else.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]string{"-3": "negative", "0": "zero", "5": "positive"} {
			wf, err := Compile(p, Options{Parameters: map[string]any{"n": n}})
			if err != nil {
				t.Fatal(err)
			}
			r := newArgoRun(t, wf)
			r.run()
			var ran []string
			for node, rn := range r.nodes {
				if strings.Contains(node, ".say") && !rn.skipped {
					v, _ := DecodeValue(rn.params["Output"])
					ran = append(ran, v)
				}
			}
			if len(ran) != 1 || ran[0] != want {
				t.Errorf("n=%s: branches that ran said %q, want only %q", n, ran, want)
			}
		}
	}},
	"executor-output-path.yaml": {opts: Options{}, check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf, kfpSDK(t))
		r.run()
		// argoRun moves the pod's /tmp/kfp into a folder of the test.
		if got := r.param(t, "where", "Output"); got != r.podRootAs(r.podName[r.name+".where"])+strings.TrimPrefix(executorOutputFile, podRoot) {
			t.Errorf("the executor output path given to the component: %q", got)
		}
	}},
	"parallelfor-dict-items.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		loop := dagTask(t, wf, "for-loop-2")
		if p := templateNamed(t, wf, loop.Template).Parallelism; p == nil || *p != 1 {
			t.Errorf("parallelism %v, want 1", p)
		}
		r := newArgoRun(t, wf)
		r.run()
		r.expect(t, "show", "Output", `["a=1","b=2"]`)
	}},
	"sub-pipeline-outputs.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf)
		out := r.run()
		r.expect(t, "read", "Output", "hello (5)")
		if out.params["count"] != "5" || out.arts["data"] == "" {
			t.Errorf("pipeline outputs %v %v", out.params, out.arts)
		}
	}},
	"optional-inputs.yaml": {check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf, kfpSDK(t))
		r.run()
		r.expect(t, "greet", "Output", "--suffix !")
		r.expect(t, "greet-2", "Output", "--none")
		r.expect(t, "greet-py-2", "Output", "hello None")
		r.expect(t, "greet-py", "Output", "hello None")
		wf2 := compileSDKFixture(t, "optional-inputs.yaml", Options{Parameters: map[string]any{"suffix": "there"}})
		r = newArgoRun(t, wf2, kfpSDK(t))
		r.run()
		r.expect(t, "greet-py", "Output", "hello 'there'")
	}},
	"importer-reimport-metadata.yaml": {opts: Options{ArtifactStore: "s3://bucket"}, check: func(t *testing.T, wf *wfv1.Workflow) {
		r := newArgoRun(t, wf, kfpSDK(t))
		data := filepath.Join(r.dir, "store", "raw", "data.txt")
		if err := os.MkdirAll(filepath.Dir(data), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(data, []byte("rows"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.run()
		// KFP's executor reads .path from the URI's local mount, /s3/bucket/raw/data.txt, which the wrapper links
		// to the downloaded file (or, where it cannot write /s3, gives the local path as URI).
		got := r.param(t, "use", "Output")
		if got != "rows survey 2 s3://bucket/raw/data.txt" && !strings.HasPrefix(got, "rows survey 2 /") {
			t.Errorf("use returned %q, want the data, metadata from the run's parameter, the version and the URI", got)
		}
	}},
}

// runHook runs an exit hook's template with its arguments resolved in scope (the hooked task's status and
// outputs), as the controller does when the hooked task ends.
func (r *argoRun) runHook(t *testing.T, hook wfv1.LifecycleHook, name string, scope map[string]any) *runNode {
	t.Helper()
	s := r.scope(scope)
	args := hookArgs(t, hook, s)
	return r.one(wfv1.DAGTask{Name: name, Template: hook.Template, Arguments: args}, r.name+"."+name+".onExit", s)
}

// sdkFixturesWithOwnTests are the fixtures of testdata/sdk that a test of their own checks.
var sdkFixturesWithOwnTests = map[string]string{
	"run-placeholders.yaml":        "TestEveryRunPlaceholder",
	"pipeline-input-artifact.yaml": "TestInputArtifactAsTemplateArgument",
	"importer-runtime-uri.yaml":    "TestImporterURIFromARunParameter",
	"kfp-kubernetes-0.x-pvc.yaml":  "TestOlderKFPKubernetesCreatePVC",
}

// TestSDKFixtures compiles each fixture of sdkFixtures, checks it with Argo's validator and asserts its values
// (most run on this machine through argoRun).
func TestSDKFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "sdk", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		_, own := sdkFixturesWithOwnTests[name]
		if _, ok := sdkFixtures[name]; !ok && !own {
			t.Errorf("%s is checked by no test: add it to sdkFixtures", name)
		}
	}
	for name, fx := range sdkFixtures {
		t.Run(name, func(t *testing.T) {
			fx.check(t, compileSDKFixture(t, name, fx.opts))
		})
	}
}

// TestRejectedFieldsAreDocumented: every field the model rejects by name (an `unsupported` tag) is listed in
// docs/compile.md's table of rejected fields, so the documentation cannot fall behind the schema.
func TestRejectedFieldsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "compile.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), "| field | why it is rejected |")
	if start < 0 {
		t.Fatal("docs/compile.md has no table of rejected fields")
	}
	table := string(doc[start:])
	table = table[:strings.Index(table, "\n\n")]
	n := 0
	eachUnsupportedField(func(typ reflect.Type, name, _ string) {
		n++
		if !strings.Contains(table, name+"`") {
			t.Errorf("%s.%s is rejected by the model but not listed in docs/compile.md", typ.Name(), name)
		}
	})
	if n == 0 {
		t.Fatal("no unsupported fields found: the walk is broken")
	}
}
