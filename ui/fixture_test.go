package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

const testNS = "team-a"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeTask is one pod task of a fixture Workflow.
type fakeTask struct {
	name    string
	depends string
	when    string
	phase   wfv1.NodePhase
	outputs map[string]string
	// artifacts: artifact name -> metadata document (the kfp-argo-meta-<name> parameter)
	artifacts map[string]string
}

type fakeRun struct {
	name, exp, display string
	params             map[string]string
	phase              wfv1.WorkflowPhase
	shutdown           bool
	tasks              []fakeTask
	created            time.Time
	// repo is the artifact repository (default: a bucket without endpoint).
	repo *wfv1.S3Bucket
}

// workflow builds a Workflow as Argo reports it: root DAG node and one Pod node per task, the entrypoint
// template's DAG tasks with their depends and when.
func (r fakeRun) workflow() *wfv1.Workflow {
	params, _ := json.Marshal(r.params)
	ann := map[string]string{
		experiments.AnnotationExperiment: r.exp,
		translate.AnnotationParameters:   string(params),
		translate.AnnotationPipelineName: "metrics-pipeline",
	}
	if r.display != "" {
		ann[experiments.AnnotationRunDisplayName] = r.display
	}
	created := r.created
	if created.IsZero() {
		created = t0
	}
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: r.name, Namespace: testNS, UID: types.UID("uid-" + r.name), CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue, experiments.LabelRun: experiments.LabelValue(r.name),
				experiments.LabelExperiment: experiments.LabelValue(r.exp)},
			Annotations: ann},
		Spec: wfv1.WorkflowSpec{Entrypoint: "root"},
	}
	if r.shutdown {
		wf.Spec.Shutdown = wfv1.ShutdownStrategyTerminate
	}
	dag := &wfv1.DAGTemplate{}
	root := wfv1.NodeStatus{ID: r.name, Name: r.name, DisplayName: r.name, Type: wfv1.NodeTypeDAG, TemplateName: "root", Phase: wfv1.NodePhase(r.phase),
		StartedAt: metav1.NewTime(created.Add(time.Second))}
	wf.Status = wfv1.WorkflowStatus{Phase: r.phase, StartedAt: metav1.NewTime(created.Add(time.Second)), Nodes: wfv1.Nodes{}}
	if r.phase == wfv1.WorkflowSucceeded || r.phase == wfv1.WorkflowFailed {
		wf.Status.FinishedAt = metav1.NewTime(created.Add(time.Minute))
		root.FinishedAt = wf.Status.FinishedAt
	}
	repo := wfv1.S3Bucket{Bucket: "artifacts"}
	if r.repo != nil {
		repo = *r.repo
	}
	wf.Status.ArtifactRepositoryRef = &wfv1.ArtifactRepositoryRefStatus{ArtifactRepository: &wfv1.ArtifactRepository{S3: &wfv1.S3ArtifactRepository{S3Bucket: repo}}}
	for i, t := range r.tasks {
		dag.Tasks = append(dag.Tasks, wfv1.DAGTask{Name: t.name, Template: "comp-" + t.name, Depends: t.depends, When: t.when})
		id := fmt.Sprintf("%s-%d", r.name, 1000+i)
		n := wfv1.NodeStatus{ID: id, Name: r.name + "." + t.name, DisplayName: t.name, Type: wfv1.NodeTypePod, BoundaryID: r.name, TemplateName: "comp-" + t.name,
			Phase: t.phase, StartedAt: metav1.NewTime(created.Add(time.Duration(2+10*i) * time.Second))}
		if t.phase != wfv1.NodeRunning && t.phase != wfv1.NodePending {
			n.FinishedAt = metav1.NewTime(created.Add(time.Duration(11+10*i) * time.Second))
		}
		if t.phase == wfv1.NodeFailed {
			n.Message = "Error (exit code 1): boom"
		}
		if t.phase == wfv1.NodeSkipped {
			n.Type = wfv1.NodeTypeSkipped
		}
		out := &wfv1.Outputs{}
		for k, v := range t.outputs {
			out.Parameters = append(out.Parameters, wfv1.Parameter{Name: k, Value: wfv1.AnyStringPtr(v)})
		}
		for a, meta := range t.artifacts {
			out.Parameters = append(out.Parameters, wfv1.Parameter{Name: translate.MetadataParameterPrefix + a, Value: wfv1.AnyStringPtr(meta)})
			art := wfv1.Artifact{Name: a, ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: r.name + "/" + id + "/" + a + ".tgz"}}}
			out.Artifacts = append(out.Artifacts, art)
		}
		n.Outputs = out
		wf.Status.Nodes[id] = n
		root.Children = append(root.Children, id)
	}
	wf.Status.Nodes[r.name] = root
	wf.Spec.Templates = []wfv1.Template{{Name: "root", DAG: dag}}
	return wf
}

func classMeta(fpr, tpr []float64, labels []string, rows [][]int) string {
	var roc []map[string]any
	for i := range fpr {
		roc = append(roc, map[string]any{"confidenceThreshold": 1 - float64(i)/float64(len(fpr)), "falsePositiveRate": fpr[i], "recall": tpr[i]})
	}
	var specs []map[string]any
	for _, l := range labels {
		specs = append(specs, map[string]any{"displayName": l})
	}
	var rs []map[string]any
	for _, r := range rows {
		rs = append(rs, map[string]any{"row": r})
	}
	b, _ := json.Marshal(map[string]any{"schemaTitle": "system.ClassificationMetrics", "producer": "pod",
		"metadata": map[string]any{"confidenceMetrics": roc, "confusionMatrix": map[string]any{"annotationSpecs": specs, "rows": rs}}})
	return string(b)
}

// cluster is a fake API server holding records and Workflows.
type cluster struct {
	kube *kubefake.Clientset
	argo *wffake.Clientset
}

func newCluster(t testing.TB, exps []experiments.Experiment, runs []fakeRun) *cluster {
	t.Helper()
	c := &cluster{kube: kubefake.NewClientset(), argo: wffake.NewSimpleClientset()}
	ctx := context.Background()
	store := experiments.NewStore(c.kube.CoreV1().ConfigMaps(testNS), experiments.WithClock(func() time.Time { return t0.Add(time.Hour) }))
	for _, e := range exps {
		if _, err := store.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range runs {
		wf := r.workflow()
		if _, err := c.argo.ArgoprojV1alpha1().Workflows(testNS).Create(ctx, wf, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.ReconcileRun(ctx, wf); err != nil {
			t.Fatalf("record of %s: %v", r.name, err)
		}
	}
	c.kube.ClearActions()
	c.argo.ClearActions()
	return c
}

func (c *cluster) server(t testing.TB) *Server {
	t.Helper()
	s, err := NewServer(Config{Kube: c.kube, Argo: c.argo, Namespace: testNS, APIServer: "https://fake", Now: func() time.Time { return t0.Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const xss = `<script>alert("x")</script>`

// standardRuns: two experiments, six runs in four states, two classification runs with ROC and
// confusion matrices, a Markdown artifact, and <script> in names, parameters and outputs.
func standardRuns() ([]experiments.Experiment, []fakeRun) {
	exps := []experiments.Experiment{
		{Name: "iris", Description: "classifiers " + xss},
		{Name: "sweep " + xss, Description: "learning rates"},
	}
	train := func(acc string, fpr, tpr []float64, cm [][]int) []fakeTask {
		return []fakeTask{
			{name: "prepare", phase: wfv1.NodeSucceeded, outputs: map[string]string{"rows": "150", "note": xss}},
			{name: "train", depends: "prepare", phase: wfv1.NodeSucceeded, outputs: map[string]string{"loss": "0.25"},
				artifacts: map[string]string{"metrics": classMeta(fpr, tpr, []string{"setosa", "versicolor", xss}, cm)}},
			{name: "evaluate", depends: "train.Succeeded", phase: wfv1.NodeSucceeded,
				artifacts: map[string]string{"scores": `{"schemaTitle":"system.Metrics","metadata":{"accuracy":` + acc + `}}`,
					"report": `{"schemaTitle":"system.Markdown","metadata":{}}`}},
			{name: "notify", depends: "evaluate", when: "false", phase: wfv1.NodeSkipped},
		}
	}
	runs := []fakeRun{
		{name: "iris-a", exp: "iris", display: "iris A " + xss, params: map[string]string{"lr": "0.1", "note": xss, "empty": ""}, phase: wfv1.WorkflowSucceeded,
			tasks: train("0.91", []float64{0, 0.1, 0.3, 1}, []float64{0, 0.6, 0.9, 1}, [][]int{{10, 0, 0}, {1, 8, 1}, {0, 2, 9}}), created: t0},
		{name: "iris-b", exp: "iris", params: map[string]string{"lr": "0.01", "note": "plain"}, phase: wfv1.WorkflowSucceeded,
			tasks: train("0.95", []float64{0, 0.05, 0.2, 1}, []float64{0, 0.7, 0.95, 1}, [][]int{{10, 0, 0}, {0, 10, 0}, {0, 1, 10}}), created: t0.Add(time.Minute)},
		{name: "iris-failed", exp: "iris", params: map[string]string{"lr": "-1"}, phase: wfv1.WorkflowFailed, created: t0.Add(2 * time.Minute),
			tasks: []fakeTask{{name: "prepare", phase: wfv1.NodeSucceeded}, {name: "train", depends: "prepare", phase: wfv1.NodeFailed}}},
		{name: "iris-running", exp: "iris", params: map[string]string{"lr": "0.5"}, phase: wfv1.WorkflowRunning, created: t0.Add(3 * time.Minute),
			tasks: []fakeTask{{name: "prepare", phase: wfv1.NodeSucceeded}, {name: "train", depends: "prepare", phase: wfv1.NodeRunning}}},
		{name: "sweep-canceled", exp: "sweep " + xss, params: map[string]string{"lr": "0.2"}, phase: wfv1.WorkflowFailed, shutdown: true, created: t0.Add(4 * time.Minute),
			tasks: []fakeTask{{name: "prepare", phase: wfv1.NodeFailed}}},
		{name: "sweep-ok", exp: "sweep " + xss, params: map[string]string{"lr": "0.3"}, phase: wfv1.WorkflowSucceeded, created: t0.Add(5 * time.Minute),
			tasks: []fakeTask{{name: "prepare", phase: wfv1.NodeSucceeded, outputs: map[string]string{"score": "3"}}}},
	}
	return exps, runs
}

type runtimeObject = runtime.Object

func forbidden() error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC: no"))
}
