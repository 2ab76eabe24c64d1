//go:build e2e

package realpods

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/translate"
)

// realRun is one corpus pipeline submitted with `kfp-argo submit --wait`
// and run on real pods: its run record, its finished Workflow, and readers
// for what the pods left in S3.
type realRun struct {
	t   *testing.T
	run experiments.Run
	wf  *wfv1.Workflow
}

// submitReal submits a corpus file and waits for the end of the run.
// wantOK false expects the run (and `submit --wait`) to fail.
func submitReal(t *testing.T, file string, wantOK bool, args ...string) *realRun {
	t.Helper()
	return submitRealPath(t, filepath.Join(corpus.Dir(t), file), wantOK, args...)
}

// submitRealPath is submitReal for a pipeline file anywhere.
func submitRealPath(t *testing.T, path string, wantOK bool, args ...string) *realRun {
	t.Helper()
	file := filepath.Base(path)
	name := harness.NewName("a")
	began := time.Now()
	out, stderr, err := env.cli.Run(t, append([]string{"submit", path, "-r", name, "--wait", "-o", "json"}, args...)...)
	if wantOK && err != nil {
		t.Fatalf("submit --wait %s: %v\n%s\n%s", file, err, stderr, out)
	}
	if !wantOK && err == nil {
		t.Fatalf("submit --wait %s succeeded, want a failed run:\n%s", file, out)
	}
	var r experiments.Run
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("run JSON of %s: %v\n%s\n%s", file, err, out, stderr)
	}
	wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("workflow %s: %v", name, err)
	}
	t.Logf("%s: run %s %s in %.1fs", file, name, r.State, time.Since(began).Seconds())
	return &realRun{t: t, run: r, wf: wf}
}

// node returns the pod node of an IR task (its display name); for a task
// in a loop, iteration i (-1: the only one).
func (r *realRun) nodes(task string) []wfv1.NodeStatus {
	var out, byTemplate []wfv1.NodeStatus
	for _, n := range r.wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod {
			continue
		}
		switch {
		case n.DisplayName == task, strings.HasPrefix(n.DisplayName, task+"("), strings.HasPrefix(n.DisplayName, task+"."):
			out = append(out, n)
		case n.TemplateName == "comp-"+task:
			// An exit handler's node is named after the hook.
			byTemplate = append(byTemplate, n)
		}
	}
	if len(out) == 0 {
		return byTemplate
	}
	return out
}

func (r *realRun) node(task string) wfv1.NodeStatus {
	r.t.Helper()
	ns := r.nodes(task)
	if len(ns) != 1 {
		r.t.Fatalf("%s: %d pod nodes for task %q, want 1: %s", r.wf.Name, len(ns), task, harness.Describe(r.wf))
	}
	return ns[0]
}

// param returns a task's output parameter as Argo reported it.
func (r *realRun) param(task, name string) string {
	r.t.Helper()
	return outputParam(r.t, r.node(task), name)
}

// wantParam checks a task's output parameter.
func (r *realRun) wantParam(task, name, want string) {
	r.t.Helper()
	if got := r.param(task, name); got != want {
		r.t.Errorf("%s: task %s output %s = %q, want %q", r.wf.Name, task, name, got, want)
	}
}

// artifact reads a node's output artifact back from S3.
func (r *realRun) artifact(n wfv1.NodeStatus, name string) string {
	r.t.Helper()
	if n.Outputs != nil {
		for _, a := range n.Outputs.Artifacts {
			if a.Name == name && a.S3 != nil {
				b, err := env.s3.Get(context.Background(), a.S3.Key)
				if err != nil {
					r.t.Fatalf("%s: artifact %s of %s: %v", r.wf.Name, name, n.DisplayName, err)
				}
				return string(b)
			}
		}
	}
	r.t.Fatalf("%s: node %s has no S3 output artifact %q (outputs %+v)", r.wf.Name, n.DisplayName, name, n.Outputs)
	return ""
}

// mainLog is what the task's main container printed, read back from S3
// (archiveLogs).
func (r *realRun) mainLog(n wfv1.NodeStatus) string {
	r.t.Helper()
	return r.artifact(n, "main-logs")
}

// wantLog checks that the task's archived main log contains every string.
func (r *realRun) wantLog(task string, subs ...string) {
	r.t.Helper()
	log := r.mainLog(r.node(task))
	for _, s := range subs {
		if !strings.Contains(log, s) {
			r.t.Errorf("%s: main log of %s lacks %q:\n%s", r.wf.Name, task, s, log)
		}
	}
}

// wantTaskStates checks the run record's rows.
func (r *realRun) wantTaskStates(want map[string]experiments.State) {
	r.t.Helper()
	got := map[string]experiments.State{}
	for _, task := range r.run.Tasks {
		got[task.Name] = task.State
	}
	for name, st := range want {
		if got[name] != st {
			r.t.Errorf("%s: record row %s is %q, want %q (rows %v)", r.wf.Name, name, got[name], st, got)
		}
	}
}

// The asserted pipelines: deterministic corpus pipelines whose final
// outputs, artifacts in S3, logs and run-record metrics are checked after a
// real run. Each names what it proves.
var asserted = []struct {
	file  string
	args  []string
	ok    bool
	check func(r *realRun)
}{
	{ // A Python component: KFP's executor computes the sum.
		"critical/add_numbers.yaml", []string{"-p", "a=3", "-p", "b=4"}, true,
		func(r *realRun) { r.wantParam("add-numbers", "Output", "7") },
	},
	{ // Parameters flowing through three Python tasks.
		"essential/pipeline_with_reused_component.yaml", nil, true,
		func(r *realRun) {
			r.wantParam("add-numbers", "Output", "5")
			r.wantParam("add-numbers-2", "Output", "10")
			r.wantParam("add-numbers-3", "Output", "17")
		},
	},
	{ // String concatenation.
		"essential/concat_message.yaml", []string{"-p", "message1=Hello, ", "-p", "message2=real pods"}, true,
		func(r *realRun) { r.wantParam("concat-message", "Output", "Hello, real pods") },
	},
	{ // Container components passing an artifact through S3.
		"critical/two_step_pipeline_containerized.yaml", []string{"-p", "text=through S3"}, true,
		func(r *realRun) {
			if got := r.artifact(r.node("component1"), "output_gcs"); got != "through S3\n" {
				r.t.Errorf("component1 output_gcs in S3 = %q, want %q", got, "through S3\n")
			}
			r.wantLog("component2", "through S3")
		},
	},
	{ // A container component writing an output parameter file.
		"critical/producer_consumer_param_pipeline.yaml", []string{"-p", "text=Bonjour"}, true,
		func(r *realRun) {
			if got := r.param("producer", "output_value"); strings.TrimSpace(got) != "Bonjour, this is an output parameter" {
				r.t.Errorf("producer output_value = %q", got)
			}
			r.wantLog("consumer", "Bonjour, this is an output parameter")
		},
	},
	{ // NamedTuple outputs.
		"critical/multiple_parameters_namedtuple.yaml", nil, true,
		func(r *realRun) {
			r.wantParam("core-comp", "val1", "foo")
			r.wantParam("core-comp", "val2", "bar")
			r.wantLog("crust-comp", "val1:  foo", "val2:  bar")
		},
	},
	{ // A loop whose outputs are Collected into one list.
		"critical/collected_parameters.yaml", nil, true,
		func(r *realRun) {
			if n := len(r.nodes("prepend-id")); n < 2 {
				r.t.Errorf("prepend-id ran %d times, want one per loop item", n)
			}
			// consume-ids runs twice: inside the sub-pipeline on the loop's
			// collected outputs, and at the root on the sub-pipeline's
			// output, which is that collection.
			consumers := r.nodes("consume-ids")
			if len(consumers) != 2 {
				r.t.Fatalf("%d consume-ids pods, want 2", len(consumers))
			}
			for _, c := range consumers {
				if got := outputParam(r.t, c, "Output"); got != "completed" {
					r.t.Errorf("consume-ids Output %q", got)
				}
				log := r.mainLog(c)
				for _, n := range r.nodes("prepend-id") {
					if v := outputParam(r.t, n, "Output"); !strings.HasPrefix(v, "model_id_") || !strings.Contains(log, "Consuming: "+v) {
						r.t.Errorf("consume-ids did not consume %q:\n%s", v, log)
					}
				}
			}
		},
	},
	{ // An exit handler whose body fails: the exit task runs and sees FAILED.
		"pipeline_with_task_final_status.yaml", nil, false,
		func(r *realRun) {
			if r.wf.Status.Phase != wfv1.WorkflowFailed {
				r.t.Errorf("phase %s, want Failed", r.wf.Status.Phase)
			}
			r.wantLog("print-op", "Hello World!")
			r.wantLog("exit-op", "Pipeline status:  FAILED")
		},
	},
	{ // A parameter named y through two levels of sub-pipeline (it used to
		// arrive as "true": translate read the IR as YAML 1.1).
		"critical/mixed_parameters.yaml", nil, true,
		func(r *realRun) {
			r.wantParam("core-comp", "Output", "1")
			r.wantLog("crust-comp", "sum : 3")
		},
	},
	{ // Two output artifacts of one task: each keeps its own content in S3 (they
		// once shared a key: the file of every output was named "data").
		"critical/multiple_artifacts_namedtuple.yaml", nil, true,
		func(r *realRun) {
			core := r.node("core-comp")
			if ds1, ds2 := r.artifact(core, "ds1"), r.artifact(core, "ds2"); ds1 != "foo" || ds2 != "bar" {
				r.t.Errorf("ds1 %q, ds2 %q in S3, want foo and bar", ds1, ds2)
			}
		},
	},
	{ // The same component at the root and in a sub-pipeline.
		"essential/pipeline_with_outputs.yaml", nil, true,
		func(r *realRun) {
			got := map[string]bool{}
			for _, n := range r.nodes("print-op1") {
				got[outputParam(r.t, n, "Output")] = true
			}
			if len(got) != 2 || !got["Hello"] || !got["world"] {
				r.t.Errorf("print-op1 outputs %v, want Hello (root) and world (inner pipeline)", got)
			}
		},
	},
	{ // Container components ordered by `after`, printing their constants.
		"essential/pipeline_with_after.yaml", nil, true,
		func(r *realRun) {
			r.wantLog("print-text", "1st task")
			r.wantLog("print-text-2", "2nd task")
			r.wantLog("print-text-3", "3rd task")
			first, third := r.node("print-text"), r.node("print-text-3")
			if third.StartedAt.Before(&first.FinishedAt) {
				r.t.Errorf("print-text-3 started %v, before print-text finished %v", third.StartedAt, first.FinishedAt)
			}
		},
	},
	{ // Metrics: the run record's metric equals what the task logged into
		// its Metrics artifact, read back from S3.
		"essential/pipeline_with_metrics_outputs.yaml", nil, true,
		func(r *realRun) {
			for _, task := range []string{"output-metrics", "output-metrics-2"} {
				for _, n := range r.nodes(task) {
					// KFP's executor writes the logged metrics as the
					// artifact's file: {"accuracy": 40}.
					var doc map[string]float64
					art := r.artifact(n, "metrics")
					if err := json.Unmarshal([]byte(art), &doc); err != nil {
						r.t.Errorf("%s metrics artifact %q: %v", task, art, err)
						continue
					}
					acc, ok := doc["accuracy"]
					if !ok || acc < 0 || acc > 100 {
						r.t.Errorf("%s metrics artifact %q: no accuracy in [0,100]", task, art)
					}
					// The record names it <task>.accuracy, or
					// <task>[i].accuracy for loop iteration i.
					found := false
					for k, v := range r.run.Metrics {
						if strings.HasPrefix(k, task) && strings.HasSuffix(k, ".accuracy") && v == acc {
							found = true
						}
					}
					if !found {
						r.t.Errorf("run record metrics %v lack %s's accuracy %v", r.run.Metrics, task, acc)
					}
				}
			}
		},
	},
}

// TestAssertedPipelines runs each asserted pipeline on real pods, two at a
// time, and checks its results.
func TestAssertedPipelines(t *testing.T) {
	for _, a := range asserted {
		t.Run(strings.TrimSuffix(filepath.Base(a.file), ".yaml"), func(t *testing.T) {
			t.Parallel()
			r := submitReal(t, a.file, a.ok, append([]string{"--no-cache"}, a.args...)...)
			a.check(r)
			if t.Failed() {
				t.Logf("workflow: %s", harness.Describe(r.wf))
			}
		})
	}
}

// TestCachedTask runs a pipeline twice with caching on. The first run
// computes core-comp's output in a real container and stores it in the
// cache; in the second, core-comp is a memoization hit (no pod) whose output
// is the first run's, and the run still succeeds with that value.
func TestCachedTask(t *testing.T) {
	first := submitReal(t, "critical/parameter_cache.yaml", true)
	first.wantParam("core-comp", "Output", "foo")
	first.wantLog("crust-comp", "input : foo")
	if n := first.node("core-comp"); n.MemoizationStatus == nil || n.MemoizationStatus.Hit {
		t.Errorf("first run: core-comp should have run and filled the cache: %+v", n.MemoizationStatus)
	}
	second := submitReal(t, "critical/parameter_cache.yaml", true)
	n := second.node("core-comp")
	if n.MemoizationStatus == nil || !n.MemoizationStatus.Hit {
		t.Fatalf("second run: core-comp was not a memoization hit: %+v", n.MemoizationStatus)
	}
	second.wantParam("core-comp", "Output", "foo")
	if second.wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Errorf("second run %s", harness.Describe(second.wf))
	}
}

// TestImporter runs pipeline_with_importer.yaml with its two importers
// pointed at objects this test puts into the S3 repository (the corpus file
// imports from gs://, which is unreachable here): `train` reads the first
// through the importer in a real container, its scalar output ('123') makes
// the condition true, and `train-2` reads the second.
func TestImporter(t *testing.T) {
	ctx := context.Background()
	p, err := translate.LoadFile(filepath.Join(corpus.Dir(t), "pipeline_with_importer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	name := harness.NewName("importer")
	first := putInput(ctx, t, name, "shakespeare1.txt", "To be, or not to be")
	second := putInput(ctx, t, name, "shakespeare2.txt", "All the world's a stage")
	imp := p.Spec.Root.DAG.Tasks["importer"]
	if imp == nil || imp.Inputs == nil || imp.Inputs.Parameters["uri"] == nil || imp.Inputs.Parameters["uri"].RuntimeValue == nil {
		t.Fatalf("pipeline_with_importer.yaml: no constant uri on task importer")
	}
	// The URI is both the task's input and the importer executor's constant.
	uri := "s3://" + env.s3.Bucket + "/" + first
	imp.Inputs.Parameters["uri"].RuntimeValue.Constant = uri
	exec := p.Spec.DeploymentSpec.Executors["exec-importer"]
	if exec == nil || exec.Importer == nil {
		t.Fatal("pipeline_with_importer.yaml: no executor exec-importer")
	}
	exec.Importer.ArtifactURI.Constant = uri
	// The importers read the repository's own bucket: --artifact-store says which it is (without it an
	// s3:// location is refused, since Argo would read the default repository's bucket whatever the URI).
	// The second importer's URI is a run-time parameter, so its bucket is only known then: the store also
	// gives the endpoint and the Secret with the credentials, as a user's --artifact-store would.
	store := fmt.Sprintf("s3://%s?endpoint=%s&insecure=true&secret=%s", env.s3.Bucket, env.s3.Endpoint, cluster.S3SecretName)
	wf, err := translate.Compile(p, translate.Options{Name: name, NoCache: true, ArtifactStore: store,
		Parameters: map[string]any{"dataset2": "s3://" + env.s3.Bucket + "/" + second}})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	done := runSucceeded(ctx, t, wf)
	r := &realRun{t: t, wf: done}
	r.wantParam("train", "scalar", "123")
	r.wantLog("train", "Dataset: To be, or not to be")
	if got := r.artifact(r.node("train"), "model"); got != "My model trained using data: To be, or not to be" {
		t.Errorf("train's model in S3 = %q", got)
	}
	r.wantLog("train-2", "Dataset: All the world's a stage")
}
