//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
)

// The run and experiment commands against the real control plane: the kfp-argo binary is built once and
// driven as a user would, with --kubeconfig and -n; records are then read through the experiments package.

func e2eRuns(t *testing.T) *experiments.Runs {
	t.Helper()
	c, err := argo.NewClientsForConfig(env.cluster.RESTConfig(), env.ns)
	if err != nil {
		t.Fatal(err)
	}
	return experiments.NewRuns(experiments.NewStore(c.Kube.CoreV1().ConfigMaps(env.ns)), c.Workflows())
}

// capture writes a finished Workflow, as the API server returned it, to $KFP_ARGO_E2E_CAPTURE/<name>.yaml:
// real golden inputs for experiments' mapping tests.
func capture(t *testing.T, name, wfName string) {
	dir := os.Getenv("KFP_ARGO_E2E_CAPTURE")
	if dir == "" {
		return
	}
	wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(context.Background(), wfName, metav1.GetOptions{})
	if err != nil {
		t.Errorf("capture %s: %v", name, err)
		return
	}
	wf.ManagedFields = nil
	wf.TypeMeta = metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"}
	y, err := yaml.Marshal(wf)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".yaml"), append([]byte("# Captured from the e2e control plane (test/e2e/runs_e2e_test.go).\n"), y...), 0o644)
	}
	if err != nil {
		t.Errorf("capture %s: %v", name, err)
	}
}

func decodeRun(t *testing.T, out string) experiments.Run {
	t.Helper()
	var r experiments.Run
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("run JSON: %v\n%s", err, out)
	}
	return r
}

func states(r experiments.Run) string {
	var s []string
	for _, h := range r.History {
		s = append(s, string(h.State))
	}
	return strings.Join(s, " ")
}

// TestRunSucceeds submits a corpus pipeline into an experiment and waits: the record ends SUCCEEDED with a
// SUCCEEDED row per IR task, pods named, and the parameters given with -p.
func TestRunSucceeds(t *testing.T) {
	file := corpus.File(t, "critical/two_step_pipeline_containerized.yaml")
	name := harness.NewName("ok")
	began := time.Now()
	out, stderr, err := env.cli.Run(t, "submit", file, "-e", "e2e runs", "-r", name, "-p", "text=hello {{workflow.name}}", "--wait", "-o", "json")
	if err != nil {
		t.Fatalf("submit --wait: %v\n%s\n%s", err, stderr, describeWorkflow(context.Background(), name))
	}
	t.Logf("submit --wait of %s: %.1fs", name, time.Since(began).Seconds())
	r := decodeRun(t, out)
	if r.State != experiments.StateSucceeded || r.Experiment != "e2e runs" || r.Parameters["text"] != "hello {{workflow.name}}" {
		t.Errorf("record: state %s experiment %q parameters %v", r.State, r.Experiment, r.Parameters)
	}
	if got := states(r); got != "PENDING RUNNING SUCCEEDED" {
		t.Errorf("history %s", got)
	}
	names := map[string]bool{}
	for _, task := range r.Tasks {
		names[task.Name] = true
		if task.State != experiments.StateSucceeded || task.Pod == "" || task.Attempts != 1 {
			t.Errorf("task row %+v", task)
		}
	}
	if !names["component1"] || !names["component2"] || len(r.Tasks) != 2 {
		t.Errorf("task rows %v, want component1 and component2", names)
	}
	// The pods the record names are the pods Argo created.
	for _, task := range r.Tasks {
		if _, err := env.kube.CoreV1().Pods(env.ns).Get(context.Background(), task.Pod, metav1.GetOptions{}); err != nil {
			t.Errorf("pod %s of task %s: %v", task.Pod, task.Name, err)
		}
	}
	// The value reached the pod as given, not evaluated by Argo.
	for _, h := range env.standin.HandledFor(name) {
		for k, v := range h.Task.Inputs {
			if strings.Contains(v, name) && strings.Contains(k, "text") {
				t.Errorf("input %s of %s was evaluated by Argo: %q", k, h.Task.TaskName, v)
			}
		}
	}
	out, _, err = env.cli.Run(t, "run", "list", "-e", "e2e runs", "-o", "name")
	if err != nil || !strings.Contains(out, "run/"+name+"\n") {
		t.Errorf("run list -e: %q %v", out, err)
	}
	capture(t, "real-succeeded", name)
}

// TestRunFailsThenRetry: a task exits 3, `submit --wait` exits non-zero and the record is FAILED with the
// task's error; `run retry` runs it again as attempt 2, which succeeds.
func TestRunFailsThenRetry(t *testing.T) {
	file := corpus.File(t, "critical/two_step_pipeline_containerized.yaml")
	name := harness.NewName("fail")
	var attempt atomic.Int32
	attempt.Store(1)
	behaviours.Store(name, standin.Func(func(task standin.Task) standin.Result {
		if attempt.Load() == 1 && task.TaskName == "component1" {
			return standin.Result{ExitCode: 3}
		}
		return standin.Result{}
	}))
	t.Cleanup(func() { behaviours.Delete(name) })
	_, stderr, err := env.cli.Run(t, "submit", file, "-e", "e2e runs", "-r", name, "--wait")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(stderr, "ended FAILED") {
		t.Fatalf("submit --wait of a failing run: %v, stderr %q", err, stderr)
	}
	out, _, err := env.cli.Run(t, "run", "get", name, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	r := decodeRun(t, out)
	if r.State != experiments.StateFailed || !strings.Contains(r.Error, "exit code 3") || !strings.Contains(r.Error, "component1") {
		t.Errorf("failed record: %s %q", r.State, r.Error)
	}
	capture(t, "real-failed", name)

	attempt.Store(2)
	began := time.Now()
	if out, stderr, err := env.cli.Run(t, "run", "retry", name); err != nil {
		t.Fatalf("run retry: %v %s %s", err, out, stderr)
	}
	if _, stderr, err := env.cli.Run(t, "run", "watch", name, "--wait"); err != nil {
		t.Fatalf("run watch --wait after retry: %v %s", err, stderr)
	}
	t.Logf("retry to SUCCEEDED: %.1fs", time.Since(began).Seconds())
	out, _, err = env.cli.Run(t, "run", "get", name, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	r = decodeRun(t, out)
	if r.State != experiments.StateSucceeded || r.RetryCount != 1 || states(r) != "PENDING RUNNING FAILED RUNNING SUCCEEDED" || r.Error != "" {
		t.Errorf("after retry: %s retry %d history %s error %q", r.State, r.RetryCount, states(r), r.Error)
	}
}

// TestRunTerminate: terminating a running run ends it CANCELED, its running task CANCELED too.
func TestRunTerminate(t *testing.T) {
	file := corpus.File(t, "critical/two_step_pipeline_containerized.yaml")
	name := harness.NewName("term")
	behaviours.Store(name, standin.Func(func(task standin.Task) standin.Result {
		return standin.Result{Runtime: 5 * time.Minute}
	}))
	t.Cleanup(func() { behaviours.Delete(name) })
	// --no-cache: with caching on, the tasks would be memoization hits of TestRunSucceeds and end at once.
	if _, stderr, err := env.cli.Run(t, "submit", file, "-r", name, "-e", "e2e runs", "--no-cache"); err != nil {
		t.Fatalf("submit: %v %s", err, stderr)
	}
	runs := e2eRuns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Watch until a task is running, then terminate from the CLI while the watch goes on.
	terminated := false
	final, err := runs.Watch(ctx, name, func(r experiments.Run) {
		if terminated || r.TaskCounts()[experiments.StateRunning] == 0 {
			return
		}
		terminated = true
		go func() {
			if out, stderr, err := env.cli.Run(t, "run", "terminate", name); err != nil || !strings.Contains(out, "terminated") {
				t.Errorf("run terminate: %v %q %q", err, out, stderr)
			}
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.State != experiments.StateCanceled {
		t.Errorf("state %s (%s), want CANCELED", final.State, states(final))
	}
	if !strings.Contains(states(final), "CANCELING") && !strings.HasSuffix(states(final), "CANCELED") {
		t.Errorf("history %s", states(final))
	}
	for _, task := range final.Tasks {
		if task.State == experiments.StateRunning || task.State == experiments.StatePending {
			t.Errorf("task %s still %s in a canceled run", task.Name, task.State)
		}
	}
	capture(t, "real-terminated", name)
}

// TestCompareMetrics: two runs of one experiment with different parameters and Metrics reported through
// the kfp-argo-meta-<artifact> parameters; compare shows both side by side.
func TestCompareMetrics(t *testing.T) {
	file := corpus.File(t, "essential/lightweight_python_functions_with_outputs.yaml")
	exp := harness.NewName("cmp")
	var names []string
	for i, acc := range []string{"0.81", "0.93"} {
		name := harness.NewName(fmt.Sprintf("cmp%d", i))
		names = append(names, name)
		behaviours.Store(name, standin.Func(func(task standin.Task) standin.Result {
			out := map[string]string{}
			for _, p := range task.Template.Outputs.Parameters {
				if p.Name == "kfp-argo-meta-metrics" {
					out[p.Name] = `{"metadata":{"accuracy":` + acc + `},"schemaTitle":"system.Metrics","producer":"` + task.Pod + `"}`
				}
			}
			return standin.Result{Outputs: out}
		}))
		t.Cleanup(func() { behaviours.Delete(name) })
		// --no-cache: the metrics task's inputs are the same in both runs, so the second would be a cache hit.
		if _, stderr, err := env.cli.Run(t, "submit", file, "--no-cache", "-e", exp, "-r", name, "-p", fmt.Sprintf("first_message=m%d", i),
			"-p", "second_message=b", "-p", "first_number=1", "-p", "second_number=2", "--wait"); err != nil {
			t.Fatalf("submit %s: %v %s", name, err, stderr)
		}
	}
	out, stderr, err := env.cli.Run(t, "run", "compare", "-e", exp, "-o", "json")
	if err != nil {
		t.Fatalf("compare: %v %s", err, stderr)
	}
	var c experiments.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Runs) != 2 || c.Runs[0].Name != names[0] || c.Runs[1].Name != names[1] {
		t.Fatalf("compared runs %+v", c.Runs)
	}
	row := func(rows []experiments.ComparisonRow, name string) *experiments.ComparisonRow {
		for i := range rows {
			if rows[i].Name == name {
				return &rows[i]
			}
		}
		return nil
	}
	if p := row(c.Parameters, "first_message"); p == nil || !p.Differs || p.Values[0].Value != "m0" || p.Values[1].Value != "m1" {
		t.Errorf("parameter row %+v", p)
	}
	m := row(c.Metrics, "output-named-tuple.accuracy")
	if m == nil || m.Values[0].Value != "0.81" || m.Values[1].Value != "0.93" || !m.Differs {
		t.Errorf("metric row %+v; metrics %+v", m, c.Metrics)
	}
	if _, stderr, err := env.cli.Run(t, "experiment", "archive", exp); err != nil {
		t.Fatalf("archive: %v %s", err, stderr)
	}
	if out, _, _ := env.cli.Run(t, "run", "list", "-e", exp, "-o", "name"); out != "" {
		t.Errorf("archived experiment's runs listed: %q", out)
	}
	if _, stderr, err := env.cli.Run(t, "experiment", "delete", exp); err == nil || !strings.Contains(stderr, "has 2 runs: delete them first or use --with-runs") {
		t.Errorf("delete with runs: %v %q", err, stderr)
	}
	if out, stderr, err := env.cli.Run(t, "experiment", "delete", exp, "--with-runs"); err != nil || strings.Count(out, "deleted") != 3 {
		t.Errorf("delete --with-runs: %v %q %q", err, out, stderr)
	}
	// Foreground deletion: each Workflow goes once its pods are gone.
	runs := e2eRuns(t)
	for _, n := range names {
		if err := runs.WF.WaitDeleted(context.Background(), n, "", time.Minute); err != nil {
			t.Errorf("workflow %s survived delete --with-runs: %v", n, err)
		}
	}
}

// TestConcurrentRecordUpdates: 20 writers update one record on the real API server at once; optimistic
// concurrency with retries loses none of their changes.
func TestConcurrentRecordUpdates(t *testing.T) {
	runs := e2eRuns(t)
	ctx := context.Background()
	name := harness.NewName("conc")
	if _, err := runs.Store.CreateRun(ctx, experiments.Run{Name: name, Experiment: "e2e concurrency"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runs.Store.DeleteRun(ctx, name) })
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := runs.Store.UpdateRun(ctx, name, func(r *experiments.Run) error {
				if r.Parameters == nil {
					r.Parameters = map[string]string{}
				}
				r.Parameters[fmt.Sprintf("w%02d", i)] = "x"
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	r, err := runs.Store.GetRun(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Parameters) != 20 {
		t.Errorf("%d of 20 concurrent updates kept: %v", len(r.Parameters), r.Parameters)
	}
}

// TestServerDryRunSubmit: --dry-run=server has the API server check the compiled Workflow; nothing stays.
func TestServerDryRunSubmit(t *testing.T) {
	file := corpus.File(t, "critical/two_step_pipeline_containerized.yaml")
	name := harness.NewName("dry")
	out, stderr, err := env.cli.Run(t, "submit", file, "-r", name, "--dry-run=server", "-o", "name")
	if err != nil || out != "workflow/"+name+"\n" {
		t.Fatalf("dry run: %v %q %q", err, out, stderr)
	}
	if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(context.Background(), name, metav1.GetOptions{}); err == nil {
		t.Error("server dry run stored the workflow")
	}
	if _, err := e2eRuns(t).Store.GetRun(context.Background(), name); !errors.Is(err, experiments.ErrNotFound) {
		t.Errorf("server dry run wrote a record: %v", err)
	}
}
