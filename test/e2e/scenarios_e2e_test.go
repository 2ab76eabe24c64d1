//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
	"github.com/kfp-argo/kfp-argo/translate"
)

// scenario runs one corpus pipeline with chosen outputs and failures, keyed
// by IR task names so that it does not depend on how the compiler shapes
// templates. A pipeline the compiler does not support yet is skipped: these
// tests switch themselves on as control flow lands in translate.
type scenario struct {
	name   string
	file   string
	params map[string]any // on top of sampleParameters
	// outputs by IR task name, then output name.
	outputs map[string]map[string]string
	// fail gives the exit code of an IR task's attempt (0: succeed).
	fail func(irTask string, attempt int) int
	// runtime of every pod, so concurrent pods overlap visibly.
	runtime   time.Duration
	wantPhase wfv1.WorkflowPhase
	check     func(t *testing.T, r *scenarioRun)
}

type scenarioRun struct {
	wf      *wfv1.Workflow
	ran     map[string][]standin.Handled // by IR task name
	watcher *podWatcher                  // keyed by Argo task name
	irName  func(standin.Task) string
}

func TestScenarios(t *testing.T) {
	dir := corpusDir(t)
	scenarios := []scenario{
		{
			name: "flip-coin heads", file: "critical/flip_coin.yaml",
			outputs:   map[string]map[string]string{"flip-coin": {"Output": "heads"}, "random-num": {"Output": "7"}},
			wantPhase: wfv1.WorkflowSucceeded,
			check: func(t *testing.T, r *scenarioRun) {
				r.wantRan(t, "flip-coin", "random-num", "print-msg")
				r.wantNotRan(t, "random-num-2", "print-msg-2", "print-msg-3", "print-msg-4")
			},
		},
		{
			name: "flip-coin tails", file: "critical/flip_coin.yaml",
			outputs:   map[string]map[string]string{"flip-coin": {"Output": "tails"}, "random-num-2": {"Output": "3"}},
			wantPhase: wfv1.WorkflowSucceeded,
			check: func(t *testing.T, r *scenarioRun) {
				r.wantRan(t, "flip-coin", "random-num-2", "print-msg-4")
				r.wantNotRan(t, "random-num", "print-msg", "print-msg-2", "print-msg-3")
			},
		},
		{
			// for-loop-1 has parallelismLimit 2 over loop_parameter;
			// for-loop-8 has parallelismLimit 1 over three items.
			name: "ParallelFor parallelism", file: "pipeline_with_parallelfor_parallelism.yaml",
			params:    map[string]any{"loop_parameter": []any{"a", "b", "c", "d", "e"}},
			runtime:   400 * time.Millisecond,
			wantPhase: wfv1.WorkflowSucceeded,
			check: func(t *testing.T, r *scenarioRun) {
				if n := len(r.ran["print-text"]); n != 5 {
					t.Errorf("print-text ran %d times, want 5 (one per item)", n)
				}
				if m := r.watcher.maxActive(r.argoName("print-text")); m != 2 {
					t.Errorf("print-text: at most %d pods active at once, want exactly 2 (parallelismLimit 2)", m)
				}
				if n := len(r.ran["print-int"]); n != 3 {
					t.Errorf("print-int ran %d times, want 3", n)
				}
				if m := r.watcher.maxActive(r.argoName("print-int")); m != 1 {
					t.Errorf("print-int: %d pods active at once, want 1 (parallelismLimit 1)", m)
				}
			},
		},
		{
			name: "retry twice then succeed", file: "critical/pipeline_with_retry.yaml",
			fail: func(task string, attempt int) int {
				if task == "add" && attempt < 2 {
					return 1
				}
				return 0
			},
			wantPhase: wfv1.WorkflowSucceeded,
			check: func(t *testing.T, r *scenarioRun) {
				var attempts []int
				for _, h := range r.ran["add"] {
					attempts = append(attempts, h.Task.Attempt)
				}
				sort.Ints(attempts)
				if fmt.Sprint(attempts) != "[0 1 2]" {
					t.Errorf("add attempts %v, want [0 1 2]", attempts)
				}
			},
		},
		{
			name: "exit handler after a failing body", file: "failing/pipeline_with_exit_handler.yaml",
			fail: func(task string, _ int) int {
				if task == "fail-op" {
					return 1
				}
				return 0
			},
			wantPhase: wfv1.WorkflowFailed,
			check: func(t *testing.T, r *scenarioRun) {
				r.wantRan(t, "fail-op", "print-op")
			},
		},
		{
			name: "exit task receives the failed status", file: "pipeline_with_task_final_status.yaml",
			fail: func(task string, _ int) int {
				if task == "fail-op" {
					return 1
				}
				return 0
			},
			wantPhase: wfv1.WorkflowFailed,
			check: func(t *testing.T, r *scenarioRun) {
				r.wantRan(t, "fail-op", "exit-op")
				for _, h := range r.ran["exit-op"] {
					for name, v := range h.Task.Inputs {
						if strings.Contains(strings.ToUpper(v), "FAIL") {
							t.Logf("exit-op input %s = %s", name, v)
							return
						}
					}
					t.Errorf("exit-op inputs %v carry no failed status", h.Task.Inputs)
				}
			},
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			runScenario(t, filepath.Join(dir, sc.file), sc)
		})
	}
}

func runScenario(t *testing.T, path string, sc scenario) {
	p, err := translate.LoadFile(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	params := sampleParameters(p)
	for k, v := range sc.params {
		params[k] = v
	}
	wf, err := translate.Compile(p, translate.Options{NoCache: true, Parameters: params, InputArtifacts: sampleInputArtifacts(p)})
	if err != nil {
		if strings.Contains(err.Error(), "not supported") {
			t.Skipf("not compiled yet: %v", err)
		}
		t.Fatalf("compile: %v", err)
	}
	r := &scenarioRun{ran: map[string][]standin.Handled{}, irName: irTaskNames(p, wf)}
	wf.Name = newName("sc")
	r.watcher = watchPods(t, func(p *corev1.Pod) bool {
		return p.Labels["workflows.argoproj.io/workflow"] == wf.Name
	})
	types := outputTypes(p)
	r.wf = submit(t, wf, "sc", func(task standin.Task) standin.Result {
		ir := r.irName(task)
		res := standin.Result{Runtime: sc.runtime, Outputs: map[string]string{}}
		for _, o := range task.Template.Outputs.Parameters {
			if typ := types[task.TemplateName][o.Name]; typ != "" {
				res.Outputs[o.Name] = distinctValue(typ, task.NodeName+"/"+o.Name)
			}
		}
		for k, v := range corpusOutputs[sc.file][ir] {
			res.Outputs[k] = v
		}
		for k, v := range sc.outputs[ir] {
			res.Outputs[k] = v
		}
		if sc.fail != nil {
			res.ExitCode = sc.fail(ir, task.Attempt)
		}
		return res
	})
	done := waitDone(t, r.wf.Name, 3*time.Minute)
	if done.Status.Phase != sc.wantPhase {
		t.Fatalf("want %s, got %s", sc.wantPhase, describe(done))
	}
	for _, h := range handled(done.Name) {
		for _, x := range h {
			ir := r.irName(x.Task)
			r.ran[ir] = append(r.ran[ir], x)
		}
	}
	sc.check(t, r)
}

// argoName is the inverse of irName for the names the annotation lists.
func (r *scenarioRun) argoName(ir string) string {
	for _, hs := range r.ran[ir] {
		return hs.Task.TaskName
	}
	return ir
}

func (r *scenarioRun) wantRan(t *testing.T, tasks ...string) {
	t.Helper()
	for _, task := range tasks {
		if len(r.ran[task]) == 0 {
			t.Errorf("task %s did not run; ran: %v", task, r.names())
		}
	}
}

func (r *scenarioRun) wantNotRan(t *testing.T, tasks ...string) {
	t.Helper()
	for _, task := range tasks {
		if len(r.ran[task]) != 0 {
			t.Errorf("task %s ran; ran: %v", task, r.names())
		}
	}
}

func (r *scenarioRun) names() []string {
	var out []string
	for n := range r.ran {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
