//go:build e2e

package realpods

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/translate"
)

// sdkFixture is a pipeline of translate/testdata/sdk (specs written as the KFP SDK emits them, for features the
// corpus lacks), submitted with `kfp-argo submit --wait` and checked after its real run.
func sdkFixture(t *testing.T, name string) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "translate", "testdata", "sdk", name)
}

// sdkAsserted are the SDK fixtures that run as they are. task-options.yaml is left out (it asks for an
// nvidia.com/gpu, which no node here has), kfp-kubernetes-0.x-pvc.yaml too (its component runs KFP's
// executor under the module name of SDK 2.0 betas, which today's SDK in the image no longer has).
var sdkAsserted = []struct {
	file  string
	args  []string
	ok    bool
	check func(r *realRun)
}{
	{ // Unquoted list items and a STRING default n arrive as the strings the SDK meant ("Y", not true).
		"list-default-plain-scalars.yaml", nil, true,
		func(r *realRun) { r.wantParam("join", "Output", `n ["X","Y","Z","n","on"]`) },
	},
	{ // A Literal input given with -p; the other keeps its default.
		"literal-input.yaml", []string{"-p", "mode=slow"}, true,
		func(r *realRun) { r.wantParam("echo", "Output", "slow/2") },
	},
	{ // SDK 2.0's string defaults and constants, typed.
		"sdk-2.0-string-defaults.yaml", nil, true,
		func(r *realRun) {
			r.wantParam("show", "Output", "1000 true 0.5 [1,2] 7")
			r.wantParam("show-2", "Output", "42 false 2 [3] 7")
		},
	},
	{ // Nested Collected: a list of lists.
		"nested-collected.yaml", nil, true,
		func(r *realRun) { r.wantParam("show", "Output", "[[10,20],[20,40]]") },
	},
	{ // If/Elif/Else: only the Elif branch runs for n=0.
		"if-elif-else.yaml", []string{"-p", "n=0"}, true,
		func(r *realRun) {
			r.wantParam("say-2", "Output", "zero")
			for _, n := range r.wf.Status.Nodes {
				if n.Type == wfv1.NodeTypePod && (n.DisplayName == "say" || n.DisplayName == "say-3") {
					r.t.Errorf("%s of another branch ran", n.DisplayName)
				}
			}
		},
	},
	{ // ParallelFor over dicts, parallelism 1, fields by parameterExpressionSelector.
		"parallelfor-dict-items.yaml", nil, true,
		func(r *realRun) { r.wantParam("show", "Output", `["a=1","b=2"]`) },
	},
	{ // A sub-pipeline's parameter and artifact outputs.
		"sub-pipeline-outputs.yaml", nil, true,
		func(r *realRun) { r.wantParam("read", "Output", "hello (5)") },
	},
	{ // Optional inputs given and not given, in a container (IfPresent) and through KFP's executor.
		"optional-inputs.yaml", []string{"-p", "suffix=there"}, true,
		func(r *realRun) {
			r.wantParam("greet", "Output", "--suffix !")
			r.wantParam("greet-2", "Output", "--none")
			r.wantParam("greet-py", "Output", "hello 'there'")
			r.wantParam("greet-py-2", "Output", "hello None")
		},
	},
	{ // A value the kubelet would expand in a command or env ("$$", "$(NAME)", a "$" at the end) reaches
		// KFP's executor as it was given.
		"optional-inputs.yaml", []string{"-p", "suffix=$$ $(HOSTNAME) $(KFP_ARGO_CONTRACT) $"}, true,
		func(r *realRun) { r.wantParam("greet-py", "Output", "hello '$$ $(HOSTNAME) $(KFP_ARGO_CONTRACT) $'") },
	},
	{ // Metadata KFP's executor wrote, read by a container through metadata placeholders and by Python.
		"python-metadata-to-container.yaml", nil, true,
		func(r *realRun) {
			r.wantParam("consume", "Output", "a,b 3 b")
			r.wantParam("show", "Output", `a,b 3 ["a","b"] {{not argo}}`)
		},
	},
	{ // The executor output path given as an argument.
		"executor-output-path.yaml", nil, true,
		func(r *realRun) { r.wantParam("where", "Output", "/tmp/kfp/task/executor_output.json") },
	},
	{ // The exit task reads every field of PipelineTaskFinalStatus of a failed body; the run fails.
		"final-status-fields.yaml", nil, false,
		func(r *realRun) {
			r.wantParam("report", "Output", "FAILED|"+r.wf.Name+"|exit-handler-1|2|exit-handler-1 ended Failed")
		},
	},
	{ // ignore_upstream_failure: the task runs after its upstream failed, with its input's default.
		"ignore-upstream-failure.yaml", nil, false,
		func(r *realRun) {
			r.wantParam("print-op", "Output", "message: upstream failed")
			if r.t.Failed() {
				for _, n := range r.wf.Status.Nodes {
					r.t.Logf("node %s (%s) %s outputs %+v inputs %+v", n.DisplayName, n.TemplateName, n.Phase, n.Outputs, n.Inputs)
				}
			}
		},
	},
	{ // PipelineConfig TTLs and deadline are on the Workflow the controller ran.
		"pipeline-config-ttl.yaml", nil, true,
		func(r *realRun) {
			if ttl := r.wf.Spec.TTLStrategy; ttl == nil || ttl.SecondsAfterSuccess == nil || *ttl.SecondsAfterSuccess != 3600 {
				r.t.Errorf("ttlStrategy %+v", ttl)
			}
			if d := r.wf.Spec.ActiveDeadlineSeconds; d == nil || *d != 7200 {
				r.t.Errorf("activeDeadlineSeconds %v", d)
			}
		},
	},
	{ // The workspace claim is mounted where {{$.workspace_path}} points.
		"workspace-path.yaml", nil, true,
		func(r *realRun) { r.node("write") },
	},
}

// TestSDKFixturesOnRealPods runs the SDK fixtures on real pods and checks their values.
func TestSDKFixturesOnRealPods(t *testing.T) {
	for _, a := range sdkAsserted {
		t.Run(strings.TrimSuffix(a.file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			r := submitRealPath(t, sdkFixture(t, a.file), a.ok, append([]string{"--no-cache"}, a.args...)...)
			a.check(r)
			if t.Failed() {
				t.Logf("workflow: %s", harness.Describe(r.wf))
			}
		})
	}
}

// TestRunPlaceholdersOnRealPods: every run placeholder and metadata fields of an imported artifact, in the
// command line of one template shared by two tasks, resolved by the controller for real pods.
func TestRunPlaceholdersOnRealPods(t *testing.T) {
	ctx := context.Background()
	name := harness.NewName("placeholders")
	key := putInput(ctx, t, name, "in.txt", "imported")
	raw, err := os.ReadFile(sdkFixture(t, "run-placeholders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	uri := "s3://" + env.s3.Bucket + "/" + key
	p, err := translate.Load("run-placeholders.yaml", []byte(strings.Replace(string(raw), "s3://bucket/data/in.txt", uri, 1)))
	if err != nil {
		t.Fatal(err)
	}
	store := "s3://" + env.s3.Bucket
	wf, err := translate.Compile(p, translate.Options{Name: name, NoCache: true, ArtifactStore: store})
	if err != nil {
		t.Fatal(err)
	}
	done := runSucceeded(ctx, t, wf)
	created := done.CreationTimestamp.UTC().Format(time.RFC3339)
	ids := map[string]bool{}
	for _, task := range []string{"show", "show-2"} {
		n := podNode(t, done, task)
		irName := task
		label := irName
		if task == "show" {
			label = "show of " + name
		}
		for out, want := range map[string]string{
			"content": "imported", "key": "value", "inner": "deep", "count": "3", "braces": "{{not for argo}}",
			"missing": "", "uri": uri, "task_name": irName, "job_name": name, "resource_name": name,
			"job_id": string(done.UID), "created": created, "scheduled": created, "root": store + "/kfp-argo", "label": label,
		} {
			if got := outputParam(t, n, out); got != want {
				t.Errorf("%s: %s = %q, want %q", task, out, got, want)
			}
		}
		// The task's id is its pod's name, which Argo makes from the workflow's name.
		if id := outputParam(t, n, "task_id"); !strings.HasPrefix(id, name+"-") || ids[id] {
			t.Errorf("%s: task_id %q", task, id)
		} else {
			ids[id] = true
		}
	}
}

// TestWorkflowTemplateInputArtifact: compile --kind workflowtemplate of a pipeline with an input artifact; a
// Workflow made from the template supplies the artifact as an argument, and the task reads it.
func TestWorkflowTemplateInputArtifact(t *testing.T) {
	ctx := context.Background()
	name := harness.NewName("wt-art")
	key := putInput(ctx, t, name, "data.csv", "3")
	bin, err := env.cli.Binary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "compile", sdkFixture(t, "pipeline-input-artifact.yaml"), "--kind", "workflowtemplate", "--name", name, "--no-cache", "-o", "json").Output()
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var wt wfv1.WorkflowTemplate
	if err := json.Unmarshal(out, &wt); err != nil {
		t.Fatal(err)
	}
	wt.Namespace = env.ns
	if _, err := env.argo.ArgoprojV1alpha1().WorkflowTemplates(env.ns).Create(ctx, &wt, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-run", Namespace: env.ns},
		Spec: wfv1.WorkflowSpec{
			WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: name},
			Arguments: wfv1.Arguments{Artifacts: []wfv1.Artifact{{Name: "data",
				ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: key}}}}},
		},
	}
	done := runSucceeded(ctx, t, run)
	if got := outputParam(t, podNode(t, done, "count"), "summary"); got != "rows: 3" {
		t.Errorf("count summary = %q, want %q", got, "rows: 3")
	}
}

// TestImporterURIFromParameterOnRealPods: an importer whose URI is a pipeline parameter without default, its
// scheme known from the value given when compiling (-p) and its bucket and key taken at run time, and an
// importer of a Vertex AI model known by its metadata only (empty URI): the consumer reads the data, and the
// model's resourceName through a metadata placeholder.
func TestImporterURIFromParameterOnRealPods(t *testing.T) {
	ctx := context.Background()
	name := harness.NewName("imp-param")
	key := putInput(ctx, t, name, "data.csv", "a,b,c")
	p, err := translate.LoadFile(sdkFixture(t, "importer-runtime-uri.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store := fmt.Sprintf("s3://%s?endpoint=%s&insecure=true&secret=%s", env.s3.Bucket, env.s3.Endpoint, cluster.S3SecretName)
	wf, err := translate.Compile(p, translate.Options{Name: name, NoCache: true, ArtifactStore: store,
		Parameters: map[string]any{"data_uri": "s3://" + env.s3.Bucket + "/" + key}})
	if err != nil {
		t.Fatal(err)
	}
	done := runSucceeded(ctx, t, wf)
	r := &realRun{t: t, wf: done}
	r.wantParam("describe", "model_name", "projects/p/locations/us-central1/models/42")
	r.wantLog("describe", "5")
}
