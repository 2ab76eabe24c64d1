package experiments

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/translate"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// TestPartsAreNotTasks: a DAG over 200 tasks is compiled into parts, one nesting level more in Argo's nodes.
// The record has one row per IR task, none for a part, and a task of the root DAG still has the root as parent.
func TestPartsAreNotTasks(t *testing.T) {
	ir := synthir.Generate(500, 2)
	p, err := translate.Load("synthetic.yaml", ir)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{Name: "big-x1"})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Annotations[translate.AnnotationDAGParts] == "" {
		t.Fatal("the compiled workflow has no parts")
	}
	start := succeededNodes(wf)

	run := MapWorkflow(wf, nil, start.Add(time.Minute))
	rows := map[string]Task{}
	for _, task := range run.Tasks {
		if strings.HasPrefix(task.Name, "part-") {
			t.Errorf("part node %s is a row", task.Name)
		}
		// A loop has a row for its group, kept here, and one per iteration.
		if prev, dup := rows[task.Name]; dup {
			if len(task.Iteration) == 0 && len(prev.Iteration) == 0 {
				t.Errorf("task %s twice", task.Name)
			}
			if len(task.Iteration) > 0 {
				continue
			}
		}
		rows[task.Name] = task
	}
	for name := range p.Spec.Root.DAG.Tasks {
		row, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("IR task %s has no row", name)
		case row.Parent != "":
			t.Errorf("root task %s has parent %q", name, row.Parent)
		}
	}
	for name, c := range p.Spec.Components {
		if c.DAG == nil || !strings.HasPrefix(name, "comp-condition-") {
			continue
		}
		group := rows[strings.TrimPrefix(name, "comp-")]
		for inner := range c.DAG.Tasks {
			if rows[inner].Parent != group.ID || group.ID == "" {
				t.Errorf("task %s of %s has parent %q, want %q", inner, name, rows[inner].Parent, group.ID)
			}
		}
	}
}

// TestCompressedTaskNames: a large task-name map is stored compressed; the record reads it.
func TestCompressedTaskNames(t *testing.T) {
	refs := map[string]translate.TaskRef{}
	for i := 0; i < 400; i++ {
		refs[fmt.Sprintf("t%d", i)] = translate.TaskRef{Task: fmt.Sprintf("train-%d", i), DisplayName: fmt.Sprintf("Train model number %d on the full data set", i)}
	}
	raw, err := json.Marshal(refs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(raw)
	_ = w.Close()
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "w", UID: "u", Annotations: map[string]string{
		translate.AnnotationTaskNames: "gzip+base64:" + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}}}
	n := wfv1.NodeStatus{ID: wf.NodeID("w.t7"), Name: "w.t7", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, BoundaryID: "w"}
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{
		"w":  {ID: "w", Name: "w", Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeSucceeded, Children: []string{n.ID}},
		n.ID: n,
	}}
	run := MapWorkflow(wf, nil, time.Now())
	if len(run.Tasks) != 1 || run.Tasks[0].Name != "train-7" || run.Tasks[0].DisplayName != "Train model number 7 on the full data set" {
		t.Errorf("tasks %+v, warnings %v", run.Tasks, run.Warnings)
	}
}

// TestSharedDAGTasksKeepTheirIRNames: a pipeline with hundreds of condition and loop DAGs is compiled with DAG
// templates of the same shape shared, so most tasks inside them run under another sub-DAG's task names. Over
// nodes laid out as Argo lays them out (loops as a task group of iterations), every IR task still gets its own
// row under its IR name, as many times as its loops run it, and no row carries a name the IR does not have.
func TestSharedDAGTasksKeepTheirIRNames(t *testing.T) {
	ir := synthir.Generate(3000, 1)
	p, err := translate.Load("synthetic.yaml", ir)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{Name: "big-x2"})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Annotations[translate.AnnotationSharedDAGs] == "" {
		t.Fatal("the compiled workflow has no shared DAG templates")
	}
	start := succeededNodes(wf)

	// What the IR runs: each task as often as the static loops around it.
	want, _, err := synthir.Runs(ir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, task := range MapWorkflow(wf, nil, start.Add(time.Minute)).Tasks {
		got[task.Name]++
	}
	for name, n := range want {
		// A loop has a row for the group and one per iteration.
		if got[name] != n && !(strings.HasPrefix(name, "for-loop-") && got[name] == n+1) {
			t.Errorf("IR task %s: %d rows, want %d", name, got[name], n)
		}
	}
	for name, n := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("row %s (%d times) is no IR task", name, n)
		}
	}
	if len(want) < 3000 {
		t.Errorf("only %d IR tasks", len(want))
	}
}

// succeededNodes gives wf the node status of a run in which every task succeeded, laid out as Argo lays it out:
// nodes named <parent node>.<task>, the boundary the enclosing DAG node, a loop over a static list a task group
// of iterations named <task>(<i>:<item>). It returns the time every node started and finished.
func succeededNodes(wf *wfv1.Workflow) metav1.Time {
	templates := map[string]wfv1.Template{}
	for _, tmpl := range wf.Spec.Templates {
		templates[tmpl.Name] = tmpl
	}
	start := metav1.NewTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, StartedAt: start, FinishedAt: start, Nodes: wfv1.Nodes{}}
	add := func(n wfv1.NodeStatus) {
		n.ID, n.Phase, n.StartedAt, n.FinishedAt = wf.NodeID(n.Name), wfv1.NodeSucceeded, start, start
		if n.Name == wf.Name {
			n.ID = wf.Name
		}
		wf.Status.Nodes[n.ID] = n
	}
	var walk func(name, tmpl, boundary string) string
	walk = func(name, tmpl, boundary string) string {
		n := wfv1.NodeStatus{Name: name, TemplateName: tmpl, BoundaryID: boundary, Type: wfv1.NodeTypePod}
		id := wf.NodeID(name)
		if name == wf.Name {
			id = wf.Name
		}
		if d := templates[tmpl].DAG; d != nil {
			n.Type = wfv1.NodeTypeDAG
			for _, task := range d.Tasks {
				child := name + "." + task.Name
				if len(task.WithItems) == 0 {
					n.Children = append(n.Children, walk(child, task.Template, id))
					continue
				}
				group := wfv1.NodeStatus{Name: child, TemplateName: task.Template, BoundaryID: id, Type: wfv1.NodeTypeTaskGroup}
				for i, item := range task.WithItems {
					group.Children = append(group.Children, walk(fmt.Sprintf("%s(%d:%s)", child, i, item.String()), task.Template, id))
				}
				add(group)
				n.Children = append(n.Children, wf.NodeID(child))
			}
		}
		add(n)
		return id
	}
	walk(wf.Name, wf.Spec.Entrypoint, "")
	return start
}
