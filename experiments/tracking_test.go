package experiments

import (
	"errors"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/translate"
)

// TestRunsFromAnySource: a Workflow kfp-argo compiled is a run however it was created (kubectl, argo submit,
// a CronWorkflow), listed in the experiment its labels name or Default; a plain Argo Workflow without the run
// label is not one, and `run get` says so instead of adopting it.
func TestRunsFromAnySource(t *testing.T) {
	e := newRunsEnv(t)
	wfs := e.argo.ArgoprojV1alpha1().Workflows(testNS)
	// compile -e nightly | kubectl create -f -
	kubectl := compiledWorkflow(t, nil)
	kubectl.Name = "by-kubectl"
	kubectl.Labels[LabelExperiment] = LabelValue("nightly")
	kubectl.Annotations[AnnotationExperiment] = "nightly"
	// compile | argo submit - (no experiment)
	argoSubmit := compiledWorkflow(t, nil)
	argoSubmit.Name = "by-argo"
	plain := compiledWorkflow(t, nil)
	plain.Name = "plain"
	delete(plain.Labels, translate.LabelManagedBy)
	if _, err := wfs.Create(e.ctx, kubectl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := wfs.Create(e.ctx, argoSubmit, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := wfs.Create(e.ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runs, err := e.runs.List(e.ctx, RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range runs {
		got[r.Name] = r.Experiment
	}
	if len(got) != 2 || got["by-kubectl"] != "nightly" || got["by-argo"] != DefaultExperiment {
		t.Errorf("runs listed: %v; want by-kubectl in nightly, by-argo in Default, plain not at all", got)
	}
	if _, err := e.runs.Get(e.ctx, "plain"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get of a plain Argo workflow: %v; want not found", err)
	}
	if _, err := e.store.GetRun(e.ctx, "plain"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a plain Argo workflow was adopted: %v", err)
	}
	// Labelled, a plain Argo Workflow is a run.
	e.setStatus(t, "plain", func(wf *wfv1.Workflow) { wf.Labels[LabelRun] = "plain" })
	if r, err := e.runs.Get(e.ctx, "plain"); err != nil || r.Experiment != DefaultExperiment {
		t.Errorf("labelled plain workflow: %+v, %v", r, err)
	}
}
