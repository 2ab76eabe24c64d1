//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
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
	params map[string]any // on top of corpus.SampleParameters
	// outputs by IR task name, then output name.
	outputs map[string]map[string]string
	// fail gives the exit code of an IR task's attempt (0: succeed).
	fail func(irTask string, attempt int) int
	// transform computes outputs of an IR task from its task (inputs).
	transform map[string]func(standin.Task) map[string]string
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
	dir := corpus.Dir(t)
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
		oneOf("heads", "core-comp", "core-output-comp"),
		oneOf("tails", "core-output-comp", "core-comp"),
		{
			// dsl.Collected: the loop's outputs reach the consumers as
			// one list, inside the sub-pipeline and through its output.
			name: "Collected parameters", file: "critical/collected_parameters.yaml",
			outputs: map[string]map[string]string{"split-ids": {"Output": `["s1", "s2", "s3"]`}},
			transform: map[string]func(standin.Task) map[string]string{"prepend-id": func(t standin.Task) map[string]string {
				return map[string]string{"Output": "id-" + t.Inputs["content"]}
			}},
			wantPhase: wfv1.WorkflowSucceeded,
			check: func(t *testing.T, r *scenarioRun) {
				if n := len(r.ran["prepend-id"]); n != 3 {
					t.Errorf("prepend-id ran %d times, want 3", n)
				}
				consumers := r.ran["consume-ids"]
				if len(consumers) != 2 {
					t.Fatalf("consume-ids ran %d times, want 2 (in the sub-pipeline and at the root)", len(consumers))
				}
				for _, h := range consumers {
					var ids []string
					if err := json.Unmarshal([]byte(h.Task.Inputs["ids"]), &ids); err != nil {
						t.Errorf("consume-ids (%s) got ids=%q, want a JSON list: %v", h.Task.TemplateName, h.Task.Inputs["ids"], err)
						continue
					}
					sort.Strings(ids)
					if fmt.Sprint(ids) != "[id-s1 id-s2 id-s3]" {
						t.Errorf("consume-ids (%s) got %v, want the three iterations' outputs", h.Task.TemplateName, ids)
					}
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

// oneOf runs parameter_oneof with the coin showing side: the branch task
// `taken` runs, `other` does not, and dsl.OneOf hands the taken branch's
// output through two levels of sub-pipeline to crust-comp.
func oneOf(side, taken, other string) scenario {
	return scenario{
		name: "OneOf " + side, file: "critical/parameter_oneof.yaml",
		outputs: map[string]map[string]string{
			"flip-coin":        {"Output": side},
			"core-comp":        {"Output": "from core-comp"},
			"core-output-comp": {"output_key": "from core-output-comp"},
		},
		wantPhase: wfv1.WorkflowSucceeded,
		check: func(t *testing.T, r *scenarioRun) {
			r.wantRan(t, "flip-coin", taken, "crust-comp")
			r.wantNotRan(t, other)
			for _, h := range r.ran["crust-comp"] {
				if got := h.Task.Inputs["input"]; got != "from "+taken {
					t.Errorf("crust-comp got input=%q, want %q", got, "from "+taken)
				}
			}
		},
	}
}

func runScenario(t *testing.T, path string, sc scenario) {
	p, err := translate.LoadFile(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	params := corpus.SampleParameters(p)
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
	name := harness.NewName("sc")
	wf.Name = name
	r.watcher = watchPods(t, func(p *corev1.Pod) bool {
		return p.Labels["workflows.argoproj.io/workflow"] == name
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
		if f := sc.transform[ir]; f != nil {
			for k, v := range f(task) {
				res.Outputs[k] = v
			}
		}
		if sc.fail != nil {
			res.ExitCode = sc.fail(ir, task.Attempt)
		}
		return res
	})
	done := waitDone(t, r.wf.Name, 3*time.Minute)
	if done.Status.Phase != sc.wantPhase {
		t.Fatalf("want %s, got %s", sc.wantPhase, harness.Describe(done))
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
