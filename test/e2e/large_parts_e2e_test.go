//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
	"github.com/kfp-argo/kfp-argo/translate"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// TestLargePipelineParts runs a generated 500-task SDK-style pipeline, whose root DAG is compiled into parts
// of at most 200 tasks, on the real controller: it succeeds, every value passed between tasks (across parts
// too) arrives, and the run record has one row per task and none for a part.
func TestLargePipelineParts(t *testing.T) {
	p, err := translate.Load("synthetic-500.yaml", synthir.Generate(500, 1))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{Name: harness.NewName("large"), NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Annotations[translate.AnnotationDAGParts] == "" {
		t.Fatal("not compiled into parts")
	}
	d := int64(900)
	wf.Spec.ActiveDeadlineSeconds = &d
	began := time.Now()
	wf = submit(t, wf, "large", func(task standin.Task) standin.Result {
		out := map[string]string{}
		for _, o := range task.Template.Outputs.Parameters {
			if strings.HasPrefix(o.Name, translate.MetadataParameterPrefix) {
				out[o.Name] = `{"metadata":{},"producer":"` + task.Pod + `","uri":""}`
			} else {
				out[o.Name] = "out-" + task.TaskName
			}
		}
		return standin.Result{Outputs: out}
	})
	done := waitDone(t, wf.Name, 15*time.Minute)
	t.Logf("%s: %s in %.1fs, %d nodes", done.Name, done.Status.Phase, time.Since(began).Seconds(), len(done.Status.Nodes))
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("workflow %s", harness.Describe(done))
	}
	got := handled(done.Name)
	checked := 0
	for name, task := range p.Spec.Root.DAG.Tasks {
		if task.Inputs == nil || task.Inputs.Parameters["msg"] == nil || task.Inputs.Parameters["msg"].TaskOutputParameter == nil {
			continue
		}
		producer := task.Inputs.Parameters["msg"].TaskOutputParameter.ProducerTask
		if len(got[name]) != 1 {
			t.Errorf("%s ran %d times", name, len(got[name]))
			continue
		}
		if in := got[name][0].Task.Inputs["msg"]; in != "out-"+producer {
			t.Errorf("%s got msg=%q, want %q from %s", name, in, "out-"+producer, producer)
		}
		checked++
	}
	if checked < 150 {
		t.Errorf("only %d values checked", checked)
	}
	run := experiments.MapWorkflow(done, nil, time.Now())
	rows := map[string]bool{}
	for _, task := range run.Tasks {
		if strings.HasPrefix(task.Name, "part-") {
			t.Errorf("part %s is a row of the run record", task.Name)
		}
		rows[task.Name] = true
	}
	for name := range p.Spec.Root.DAG.Tasks {
		if !rows[name] {
			t.Errorf("task %s has no row", name)
		}
	}
	t.Logf("run record: %d rows, state %s", len(run.Tasks), run.State)
}
