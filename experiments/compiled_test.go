package experiments

import (
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/translate"
)

// TestMetricsFromCompiledWorkflow checks the contract between compiler and records with the compiler's real
// output: the metadata parameters that translate declares (kfp-argo-meta-<artifact>) are what MapWorkflow reads
// metrics from, and they do not show up as task outputs.
func TestMetricsFromCompiledWorkflow(t *testing.T) {
	p, err := translate.LoadFile("../testdata/pipelines/python-io.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{Name: "python-io-x1"})
	if err != nil {
		t.Fatal(err)
	}
	wf.UID = "uid-1"
	templates := map[string]wfv1.Template{}
	for _, tmpl := range wf.Spec.Templates {
		templates[tmpl.Name] = tmpl
	}
	start := metav1.NewTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	end := metav1.NewTime(start.Add(time.Minute))
	root := wfv1.NodeStatus{ID: wf.Name, Name: wf.Name, Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeSucceeded, TemplateName: wf.Spec.Entrypoint, StartedAt: start, FinishedAt: end}
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, StartedAt: start, FinishedAt: end, Nodes: wfv1.Nodes{}}
	metricsTask := ""
	for _, task := range templates[wf.Spec.Entrypoint].DAG.Tasks {
		name := wf.Name + "." + task.Name
		n := wfv1.NodeStatus{ID: wf.NodeID(name), Name: name, Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, TemplateName: task.Template,
			BoundaryID: wf.Name, StartedAt: start, FinishedAt: end, Outputs: &wfv1.Outputs{}}
		for _, out := range templates[task.Template].Outputs.Parameters {
			v := "7"
			if strings.HasPrefix(out.Name, translate.MetadataParameterPrefix) {
				v = `{"metadata":{},"schemaTitle":"system.Dataset","producer":"p"}`
				if out.Name == translate.MetadataParameterPrefix+"metrics" {
					v = `{"metadata":{"accuracy":0.9,"note":"x"},"schemaTitle":"system.Metrics","producer":"p"}`
					metricsTask = task.Name
				}
			}
			n.Outputs.Parameters = append(n.Outputs.Parameters, wfv1.Parameter{Name: out.Name, Value: wfv1.AnyStringPtr(v)})
		}
		wf.Status.Nodes[n.ID] = n
		root.Children = append(root.Children, n.ID)
	}
	wf.Status.Nodes[root.ID] = root
	if metricsTask == "" {
		t.Fatalf("no compiled task declares %smetrics; the fixture or the compiler's naming changed", translate.MetadataParameterPrefix)
	}

	run := MapWorkflow(wf, nil, end.Add(time.Second))
	if run.State != StateSucceeded {
		t.Fatalf("state %s, want SUCCEEDED", run.State)
	}
	if got, ok := run.Metrics[metricsTask+".accuracy"]; !ok || got != 0.9 {
		t.Errorf("metric %s.accuracy = %v (present %v), want 0.9; metrics %v", metricsTask, got, ok, run.Metrics)
	}
	for _, task := range run.Tasks {
		for k := range task.Outputs {
			if strings.HasPrefix(k, translate.MetadataParameterPrefix) {
				t.Errorf("task %s shows metadata parameter %s as an output", task.Name, k)
			}
		}
	}
	if len(run.Warnings) > 0 {
		t.Errorf("warnings: %v", run.Warnings)
	}
}

// TestOutputsDecodeInertValues: an output containing "{{" travels inert; the record shows the real text.
func TestOutputsDecodeInertValues(t *testing.T) {
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "w", UID: "u"}}
	n := wfv1.NodeStatus{ID: wf.NodeID("w.a"), Name: "w.a", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, BoundaryID: "w",
		Outputs: &wfv1.Outputs{Parameters: []wfv1.Parameter{
			{Name: "text", Value: wfv1.AnyStringPtr("%%kfpb64:e3t4fX0=%%")}, // "{{x}}"
			{Name: "plain", Value: wfv1.AnyStringPtr("a b")},
		}}}
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning, Nodes: wfv1.Nodes{
		"w":  {ID: "w", Name: "w", Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeRunning, Children: []string{n.ID}},
		n.ID: n,
	}}
	run := MapWorkflow(wf, nil, time.Now())
	if len(run.Tasks) != 1 {
		t.Fatalf("tasks %+v", run.Tasks)
	}
	if got := run.Tasks[0].Outputs; got["text"] != "{{x}}" || got["plain"] != "a b" {
		t.Errorf("outputs %v, want text={{x}} plain=a b", got)
	}
}
