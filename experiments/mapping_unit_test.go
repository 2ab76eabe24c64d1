package experiments

import (
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podName copies Argo's naming rather than importing it (workflow/util pulls in Argo's server and needs
// modules this one does not have); these cases are Argo's own (workflow/util/pod_name_v2_test.go).
func TestPodNameMatchesArgo(t *testing.T) {
	fnvOf := func(s string) uint32 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(s))
		return h.Sum32()
	}
	longWf := "alongworkflownamethatincludeslotsofdetailsandisessentiallyalargerunonsentencewithpoorstyleandnopunctuationtobehadwhatsoever"
	longTmpl := "alongtemplatenamethatincludessliightlymoredetailsandiscertainlyalargerunonstnencewithevenworsestylisticconcernsandpreposterouslyeliminatespunctuation"
	tests := []struct {
		wf, node, tmpl, format, want string
	}{
		{"wfname", "nodename", "templatename", "", fmt.Sprintf("wfname-templatename-%d", fnvOf("nodename"))},
		{longWf, "nodename", longTmpl, "", fmt.Sprintf("%s-%d", (longWf + "-" + longTmpl)[:242], fnvOf("nodename"))},
		{"wfname", "stp.inline", "", "", fmt.Sprintf("wfname-%d", fnvOf("stp.inline"))},
		{"wfname", "wfname", "root", "", "wfname"},
		{"wfname", "wfname.train", "impl", "v1", fmt.Sprintf("wfname-%d", fnvOf("wfname.train"))},
		// A pod-name-format annotation of v2 is the default spelled out.
		{"wfname", "wfname.loop(0:a).train(1)", "impl", "v2", fmt.Sprintf("wfname-impl-%d", fnvOf("wfname.loop(0:a).train(1)"))},
	}
	for _, tc := range tests {
		wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: tc.wf}}
		if tc.format != "" {
			wf.Annotations = map[string]string{argoPodNameFormatAnnotation: tc.format}
		}
		n := &wfv1.NodeStatus{ID: wf.NodeID(tc.node), Name: tc.node, TemplateName: tc.tmpl}
		if got := podName(wf, n); got != tc.want {
			t.Errorf("podName(%.20s, %s, %.20s) = %s, want %s", tc.wf, tc.node, tc.tmpl, got, tc.want)
		}
	}
}

func TestSplitIteration(t *testing.T) {
	tests := []struct {
		in   string
		base string
		iter int
	}{
		{"train", "train", -1},
		{"for-loop-2(0:0.01)", "for-loop-2", 0},
		{"square(12:{\"a\":\"(x)\"})", "square", 12},
		{"train(3)", "train", -1},
		{"loop(1:a)(2)", "loop", 1},
	}
	for _, tc := range tests {
		base, iter := splitIteration(tc.in)
		if base != tc.base || iter != tc.iter {
			t.Errorf("splitIteration(%q) = %q, %d; want %q, %d", tc.in, base, iter, tc.base, tc.iter)
		}
	}
}

func TestJSONNumber(t *testing.T) {
	tests := []struct {
		in string
		ok bool
		f  float64
	}{
		{"3", true, 3}, {"-0.5", true, -0.5}, {" 1e3 ", true, 1000}, {"0.93", true, 0.93},
		{"true", false, 0}, {`"3"`, false, 0}, {"NaN", false, 0}, {"Infinity", false, 0}, {"0x10", false, 0},
		{"", false, 0}, {"1_000", false, 0}, {"3 apples", false, 0}, {"[1]", false, 0},
	}
	for _, tc := range tests {
		f, ok := jsonNumber(tc.in)
		if ok != tc.ok || f != tc.f {
			t.Errorf("jsonNumber(%q) = %v, %v; want %v, %v", tc.in, f, ok, tc.f, tc.ok)
		}
	}
}

func TestStates(t *testing.T) {
	for _, s := range States() {
		got, err := ParseState(strings.ToLower(string(s)))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", strings.ToLower(string(s)), got, err)
		}
	}
	if _, err := ParseState("DONE"); err == nil || !strings.Contains(err.Error(), "PENDING") {
		t.Errorf("ParseState(DONE) err = %v, want the list of states", err)
	}
	terminal := map[State]bool{StateSucceeded: true, StateSkipped: true, StateFailed: true, StateCanceled: true, StateWorkflowDeleted: true}
	for _, s := range States() {
		if s.Terminal() != terminal[s] {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
	}
}

func TestMarkWorkflowDeleted(t *testing.T) {
	now := sec(100)
	running := Run{Name: "r", State: StateRunning, History: []StateChange{{State: StatePending, Time: sec(0)}, {State: StateRunning, Time: sec(1)}},
		Tasks: []Task{{ID: "a", State: StateSucceeded}, {ID: "b", State: StateRunning}, {ID: "c", State: StatePending}}}
	canceling := running
	canceling.State = StateCanceling
	canceling.History = append(append([]StateChange(nil), running.History...), StateChange{State: StateCanceling, Time: sec(50)})
	done := running
	done.State = StateSucceeded
	done.History = append(append([]StateChange(nil), running.History...), StateChange{State: StateSucceeded, Time: sec(60)})
	tests := []struct {
		name       string
		prev       Run
		reason     string
		want       State
		wantTasks  []State
		wantReason string
	}{
		{"running", running, "deleted by TTL", StateWorkflowDeleted, []State{StateSucceeded, StateWorkflowDeleted, StateWorkflowDeleted}, "deleted by TTL"},
		{"canceling", canceling, "", StateWorkflowDeleted, []State{StateSucceeded, StateWorkflowDeleted, StateWorkflowDeleted}, "workflow deleted before its final state was recorded"},
		{"terminal stays", done, "deleted by TTL", StateSucceeded, []State{StateSucceeded, StateRunning, StatePending}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MarkWorkflowDeleted(tc.prev, tc.reason, now)
			if got.State != tc.want {
				t.Errorf("state = %s, want %s", got.State, tc.want)
			}
			var states []State
			for _, task := range got.Tasks {
				states = append(states, task.State)
			}
			if diff := cmp.Diff(tc.wantTasks, states); diff != "" {
				t.Errorf("task states (-want +got):\n%s", diff)
			}
			if tc.prev.State.Terminal() {
				if diff := cmp.Diff(tc.prev, got); diff != "" {
					t.Errorf("terminal run changed:\n%s", diff)
				}
				return
			}
			last := got.History[len(got.History)-1]
			if len(got.History) != len(tc.prev.History)+1 || last.Reason != tc.wantReason || !last.Time.Equal(now) || got.Error != tc.wantReason {
				t.Errorf("history %+v, error %q; want one more entry with reason %q", got.History, got.Error, tc.wantReason)
			}
			if tc.prev.Tasks[1].State != StateRunning {
				t.Error("MarkWorkflowDeleted changed its input")
			}
		})
	}
}

// TestMapWorkflowDoesNotTouchInputs guards purity: prev and wf are the caller's.
func TestMapWorkflowDoesNotTouchInputs(t *testing.T) {
	wfs := readWorkflows(t, "testdata/mapping/retry-reopen.yaml")
	first := MapWorkflow(wfs[0], nil, sec(0))
	before := *first.DeepCopy()
	wfBefore := wfs[1].DeepCopy()
	_ = MapWorkflow(wfs[1], &first, sec(1))
	if diff := cmp.Diff(before, first); diff != "" {
		t.Errorf("prev changed:\n%s", diff)
	}
	if diff := cmp.Diff(wfBefore, wfs[1]); diff != "" {
		t.Errorf("workflow changed:\n%s", diff)
	}
	// A Workflow with another UID under the same name is not this run's...
	other := wfs[1].DeepCopy()
	other.UID = "another"
	delete(other.Annotations, AnnotationRetryCount)
	if got := MapWorkflow(other, &first, sec(2)); !cmp.Equal(got, first) {
		t.Errorf("workflow with another UID changed the run: %s -> %s", first.State, got.State)
	}
	// ...unless it is the run's resubmitted attempt: a larger retry count than the record's.
	resubmitted := wfs[1].DeepCopy()
	resubmitted.UID = "another"
	resubmitted.Status = wfv1.WorkflowStatus{}
	got := MapWorkflow(resubmitted, &first, sec(3))
	if got.Workflow.UID != "another" || got.State != StateRunning || got.RetryCount != 1 || got.FinishedAt != (time.Time{}) {
		t.Errorf("resubmitted attempt: uid %s state %s retryCount %d finished %v; want another RUNNING 1 zero",
			got.Workflow.UID, got.State, got.RetryCount, got.FinishedAt)
	}
	if last := got.History[len(got.History)-1]; last.State != StateRunning || last.Reason != "retry 1" {
		t.Errorf("history ends in %+v, want RUNNING \"retry 1\" (never PENDING after a start)", last)
	}
	if !first.State.Terminal() {
		t.Fatalf("fixture: first snapshot of retry-reopen should be terminal, is %s", first.State)
	}
}

func TestStalePendingStatusIsIgnored(t *testing.T) {
	wfs := readWorkflows(t, "testdata/mapping/running-dag.yaml")
	running := MapWorkflow(wfs[0], nil, sec(0))
	stale := wfs[0].DeepCopy()
	stale.Status = wfv1.WorkflowStatus{}
	got := MapWorkflow(stale, &running, sec(1))
	if diff := cmp.Diff(running, got); diff != "" {
		t.Errorf("a stale PENDING status changed a RUNNING record (-want +got):\n%s", diff)
	}
}

func TestArgoNameParts(t *testing.T) {
	trims := map[string]string{".train": "train", "[0].step": "step", "[12].a.b": "a.b", "[x].step": "[x].step", "train": "train", "[0]": "[0]"}
	for in, want := range trims {
		if got := trimStepOrDAGSeparator(in); got != want {
			t.Errorf("trimStepOrDAGSeparator(%q) = %q, want %q", in, got, want)
		}
	}
	childFailed := map[string]bool{"child 'wf-123' failed": true, "child '' failed": false, "child 'wf-1' failed badly": false,
		"Stopped with strategy 'Stop'": false, "child 'a'b' failed": false}
	for in, want := range childFailed {
		if got := isArgoChildFailed(in); got != want {
			t.Errorf("isArgoChildFailed(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestSubDAGTaskNames: tasks of sub-pipelines are keyed "<DAG template>/<task>" in the task-names
// annotation (the same Argo task name may be in the root DAG too); missing entries keep the Argo name.
func TestSubDAGTaskNames(t *testing.T) {
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "w", UID: "u", Annotations: map[string]string{
		"kfp-argo.io/task-names": `{"train":{"task":"train-root","displayName":"Root train"},"comp-inner/train":{"task":"train","displayName":"Inner train"},"inner":{"task":"inner","displayName":"Inner"}}`,
	}}}
	node := func(name, typ, tmpl, boundary string, children ...string) wfv1.NodeStatus {
		n := wfv1.NodeStatus{ID: wf.NodeID(name), Name: name, Type: wfv1.NodeType(typ), TemplateName: tmpl, Phase: wfv1.NodeSucceeded,
			StartedAt: metav1.NewTime(sec(int64(len(name))))}
		if boundary != "" {
			n.BoundaryID = wf.NodeID(boundary)
		}
		for _, c := range children {
			n.Children = append(n.Children, wf.NodeID(c))
		}
		return n
	}
	nodes := []wfv1.NodeStatus{
		node("w", "DAG", "pipeline-root", "", "w.train", "w.inner"),
		node("w.train", "Pod", "comp-train", "w"),
		node("w.inner", "DAG", "comp-inner", "w", "w.inner.train", "w.inner.eval"),
		node("w.inner.train", "Pod", "comp-train", "w.inner"),
		node("w.inner.eval", "Pod", "comp-eval", "w.inner"),
	}
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{}}
	for _, n := range nodes {
		wf.Status.Nodes[n.ID] = n
	}
	run := MapWorkflow(wf, nil, sec(100))
	got := map[string]string{}
	for _, task := range run.Tasks {
		got[task.ID] = task.Name + "|" + task.DisplayName
	}
	want := map[string]string{
		wf.NodeID("w.train"):       "train-root|Root train",
		wf.NodeID("w.inner"):       "inner|Inner",
		wf.NodeID("w.inner.train"): "train|Inner train",
		wf.NodeID("w.inner.eval"):  "eval|eval",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("task names (-want +got):\n%s", diff)
	}
}

// A plain Argo Workflow whose entrypoint is itself a container (docs/e2e.md's failing.yaml, `argo submit`
// of a one-step Workflow) runs its pod as the root node: that pod is the run's one task, so `run logs`
// finds it and a failure's last line names it. With retries the root is a Retry node over pod attempts.
func TestRootPodIsATask(t *testing.T) {
	start := metav1.NewTime(sec(1))
	end := metav1.NewTime(sec(5))
	plain := func(root wfv1.NodeStatus, more ...wfv1.NodeStatus) *wfv1.Workflow {
		wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "failing-1", UID: "u1"}}
		wf.Status.Phase = wfv1.WorkflowFailed
		wf.Status.StartedAt, wf.Status.FinishedAt = start, end
		wf.Status.Nodes = wfv1.Nodes{root.ID: root}
		for _, n := range more {
			wf.Status.Nodes[n.ID] = n
		}
		return wf
	}
	pod := wfv1.NodeStatus{ID: "failing-1", Name: "failing-1", DisplayName: "failing-1", Type: wfv1.NodeTypePod,
		TemplateName: "main", Phase: wfv1.NodeFailed, Message: "Error (exit code 3)", StartedAt: start, FinishedAt: end}
	run := MapWorkflow(plain(pod), nil, sec(9))
	if len(run.Tasks) != 1 || run.Tasks[0].Name != "main" || run.Tasks[0].DisplayName != "main" || run.Tasks[0].Pod != "failing-1" || run.Tasks[0].State != StateFailed {
		t.Errorf("root pod: tasks %+v, want one FAILED task main with pod failing-1", run.Tasks)
	}

	retry := wfv1.NodeStatus{ID: "failing-1", Name: "failing-1", DisplayName: "failing-1", Type: wfv1.NodeTypeRetry,
		TemplateName: "main", Phase: wfv1.NodeFailed, Children: []string{"failing-1-1", "failing-1-2"}, StartedAt: start, FinishedAt: end}
	a0 := wfv1.NodeStatus{ID: "failing-1-1", Name: "failing-1(0)", DisplayName: "failing-1(0)", Type: wfv1.NodeTypePod,
		TemplateName: "main", BoundaryID: "", Phase: wfv1.NodeFailed, StartedAt: start, FinishedAt: end}
	a1 := a0
	a1.ID, a1.Name, a1.DisplayName = "failing-1-2", "failing-1(1)", "failing-1(1)"
	run = MapWorkflow(plain(retry, a0, a1), nil, sec(9))
	if len(run.Tasks) != 1 || run.Tasks[0].Name != "main" || run.Tasks[0].Pod == "" || run.Tasks[0].State != StateFailed {
		t.Errorf("root retry: tasks %+v, want one FAILED task main with its last attempt's pod", run.Tasks)
	}

	// A root DAG (every compiled pipeline) stays out of the task rows.
	dag := pod
	dag.Type, dag.Phase = wfv1.NodeTypeDAG, wfv1.NodeSucceeded
	if run := MapWorkflow(plain(dag), nil, sec(9)); len(run.Tasks) != 0 {
		t.Errorf("root DAG became a task: %+v", run.Tasks)
	}
}
