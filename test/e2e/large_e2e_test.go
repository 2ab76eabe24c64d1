//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/packer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
	"github.com/kfp-argo/kfp-argo/translate"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// largeTasksEnv sets the size of TestLargePipeline's pipeline (default 3,000 executor tasks). Set, it also
// turns off the skip below: the run then shows whatever the apiserver and the controller do with it.
const largeTasksEnv = "KFP_ARGO_E2E_LARGE_TASKS"

// Argo 4's CRDs allow 200 templates per Workflow and 200 tasks per DAG (Argo 3's have no such limit); both
// controllers fail a workflow whose JSON, node status compressed, passes MAX_WORKFLOW_SIZE (1 MiB by default;
// more needs node status offloading to a database), which translate.EstimateRunSize predicts.
const (
	argo4MaxTemplates   = 200
	argo4MaxDAGTasks    = 200
	argoMaxWorkflowSize = 1 << 20
)

// TestLargePipeline submits a synthetic SDK-style pipeline of 3,000 tasks (translate/synthir) as the cluster's
// Argo version needs it (make e2e: v3.7.18, make e2e-v4: v4.0.7, whose CEL rules and limits the apiserver
// enforces), drives it to Succeeded with simulated pods and reports the CPU time the workflow-controller and
// the apiserver spent on it (from /proc/<pid>/stat, user + system).
func TestLargePipeline(t *testing.T) {
	tasks, forced := 3000, false
	if v := os.Getenv(largeTasksEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: expected a positive number", largeTasksEnv, v)
		}
		tasks, forced = n, true
	}
	ir := synthir.Generate(tasks, 1)
	p, err := translate.Load(fmt.Sprintf("synthetic-%d.yaml", tasks), ir)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{Name: harness.NewName("large"), NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	target := env.cluster.Argo()
	manifest, err := argo.MarshalFor(wf, "json", argo.Version(target.Flag()))
	if err != nil {
		t.Fatal(err)
	}
	// Sizes as stored and as Argo measures them: compact JSON.
	var compact bytes.Buffer
	if err := json.Compact(&compact, manifest); err != nil {
		t.Fatal(err)
	}
	size := compact.Len()
	maxTasks := 0
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG != nil && len(tmpl.DAG.Tasks) > maxTasks {
			maxTasks = len(tmpl.DAG.Tasks)
		}
	}
	shape := fmt.Sprintf("%d tasks: %d bytes (compact JSON) for Argo %s, %d templates, at most %d tasks in one DAG", tasks, size, target.Flag(), len(wf.Spec.Templates), maxTasks)
	t.Log(shape)
	// The compiler keeps a pipeline this large within Argo's limits (DAG parts, shared DAG templates, one copy
	// of the runtime scripts); a larger one set with KFP_ARGO_E2E_LARGE_TASKS may not be: it runs anyway.
	est, err := translate.EstimateRunSize(wf)
	if err != nil {
		t.Fatal(err)
	}
	var over []string
	if need := size + est.Status(); need > argoMaxWorkflowSize {
		over = append(over, fmt.Sprintf("%d bytes of spec + about %d of compressed node status (%d nodes) > Argo's MAX_WORKFLOW_SIZE %d", size, est.Status(), est.Nodes, argoMaxWorkflowSize))
	}
	if target == cluster.Argo4 && len(wf.Spec.Templates) > argo4MaxTemplates {
		over = append(over, fmt.Sprintf("%d templates > Argo 4's %d", len(wf.Spec.Templates), argo4MaxTemplates))
	}
	if target == cluster.Argo4 && maxTasks > argo4MaxDAGTasks {
		over = append(over, fmt.Sprintf("a DAG of %d tasks > Argo 4's %d", maxTasks, argo4MaxDAGTasks))
	}
	if len(over) > 0 && !forced {
		t.Fatalf("the compiled pipeline is over Argo %s's limits: %s (set %s to run it anyway)", target.Release(), strings.Join(over, "; "), largeTasksEnv)
	}

	types := outputTypes(p)
	behaviours.Store(wf.Name, standin.Func(func(task standin.Task) standin.Result {
		out := map[string]string{}
		for _, o := range task.Template.Outputs.Parameters {
			if typ := types[task.TemplateName][o.Name]; typ != "" {
				out[o.Name] = distinctValue(typ, task.NodeName+"/"+o.Name)
			}
		}
		return standin.Result{Outputs: out}
	}))
	t.Cleanup(func() { behaviours.Delete(wf.Name) })
	deadline := int64(1800)
	wf.Spec.ActiveDeadlineSeconds = &deadline

	controller, apiserver := processPID(t, "workflow-controller"), processPID(t, "kube-apiserver")
	cpu0, api0 := cpuSeconds(t, controller), cpuSeconds(t, apiserver)
	began := time.Now()
	if _, err := createWorkflow(context.Background(), wf, metav1.CreateOptions{}); err != nil {
		t.Fatalf("%s: rejected by the apiserver with Argo %s's CRDs: %v", shape, target.Release(), err)
	}
	done := pollDone(context.Background(), wf.Name, 25*time.Minute)
	elapsed := time.Since(began)
	cpu1, api1 := cpuSeconds(t, controller), cpuSeconds(t, apiserver)
	if done == nil {
		t.Fatalf("workflow %s never read back", wf.Name)
	}
	// What the node status really took, as stored (compressed or not): the basis of translate's estimate.
	if stored, err := json.Marshal(done); err == nil {
		t.Logf("stored workflow %d bytes, %d of them beyond the spec as compiled; estimate was %d nodes, %d bytes of status", len(stored), len(stored)-size, est.Nodes, est.Status())
	}
	if err := packer.DecompressWorkflow(done); err != nil {
		t.Fatal(err)
	}
	pods, skipped := 0, 0
	for _, n := range done.Status.Nodes {
		switch {
		case n.Type == wfv1.NodeTypePod:
			pods++
			if n.Phase != wfv1.NodeSucceeded {
				t.Errorf("pod node %s: %s %s", n.Name, n.Phase, n.Message)
			}
		case n.Phase == wfv1.NodeSkipped:
			skipped++
		}
	}
	t.Logf("Argo %s: %s; %s in %.0fs, %d nodes, %d pods, %d skipped nodes (conditions not taken); workflow-controller CPU %.1fs, kube-apiserver CPU %.1fs (user+system)",
		target.Release(), shape, done.Status.Phase, elapsed.Seconds(), len(done.Status.Nodes), pods, skipped, cpu1-cpu0, api1-api0)
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("want Succeeded: %s", harness.Describe(done))
	}
	// Conditions skip some tasks and loops run others three times: the stand-in must have served exactly the
	// pods the controller reports, and a large share of the tasks must have run.
	if served := len(env.standin.HandledFor(wf.Name)); pods != served || pods < tasks/2 {
		t.Errorf("%d pod nodes, the stand-in served %d pods; want equal and at least %d", pods, served, tasks/2)
	}
	// The run record names every task by its IR name, also inside DAG templates shared by several sub-DAGs: a
	// task there runs under another sub-DAG's task names, so a row misnamed would make that name too frequent.
	most, sure, err := synthir.Runs(ir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, row := range experiments.MapWorkflow(done, nil, time.Now()).Tasks {
		got[row.Name]++
	}
	for name, n := range got {
		if _, ok := most[name]; !ok {
			t.Errorf("row %s (%d times) is no IR task", name, n)
		}
	}
	for name, n := range most {
		if got[name] > n+1 || sure[name] && got[name] < n {
			t.Errorf("IR task %s: %d rows, want %d (one more for a loop's group)", name, got[name], n)
		}
	}
}

func processPID(t *testing.T, name string) int {
	t.Helper()
	for _, p := range env.cluster.Processes() {
		if p.Name == name {
			return p.PID
		}
	}
	t.Fatalf("no %s process in the cluster", name)
	return 0
}

// cpuSeconds is a process's user + system CPU time from /proc/<pid>/stat (fields 14 and 15, in USER_HZ ticks,
// which Linux fixes at 100 a second for this interface).
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after the last ")".
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(fields) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	return (utime + stime) / 100
}
