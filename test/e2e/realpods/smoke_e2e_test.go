//go:build e2e

package realpods

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/translate"
)

// compileCorpus compiles one corpus file with caching off (every run must
// create its pods) unless cache is set.
func compileCorpus(t testing.TB, rel string, opts translate.Options) *wfv1.Workflow {
	t.Helper()
	p, err := translate.LoadFile(filepath.Join(corpus.Dir(t), rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if opts.Name == "" {
		opts.Name = harness.NewName("real")
	}
	wf, err := translate.Compile(p, opts)
	if err != nil {
		t.Fatalf("%s: compile: %v", rel, err)
	}
	if wf.Spec.ActiveDeadlineSeconds == nil {
		d := int64(600)
		wf.Spec.ActiveDeadlineSeconds = &d
	}
	return wf
}

// runWorkflow creates the workflow and waits until it completes.
func runWorkflow(ctx context.Context, wf *wfv1.Workflow, timeout time.Duration) (*wfv1.Workflow, error) {
	if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Create(ctx, wf, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create %s: %w", wf.Name, err)
	}
	return harness.WaitDone(ctx, env.argo.ArgoprojV1alpha1().Workflows(env.ns), wf.Name, timeout)
}

// runSucceeded runs the workflow and fails the test, with the logs of its
// failed pods, unless it Succeeded.
func runSucceeded(ctx context.Context, t *testing.T, wf *wfv1.Workflow) *wfv1.Workflow {
	t.Helper()
	done, err := runWorkflow(ctx, wf, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("want Succeeded: %s%s", harness.Describe(done), failedLogs(done))
	}
	return done
}

// putInput stores an input file of run name in the artifact bucket and
// returns its key, inputs/<name>/<file>.
func putInput(ctx context.Context, t *testing.T, name, file, content string) string {
	t.Helper()
	key := "inputs/" + name + "/" + file
	if err := env.s3.Put(ctx, key, []byte(content)); err != nil {
		t.Fatal(err)
	}
	return key
}

// podNode returns the pod node of the task whose display name is name.
func podNode(t *testing.T, wf *wfv1.Workflow, name string) wfv1.NodeStatus {
	t.Helper()
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.DisplayName == name {
			return n
		}
	}
	t.Fatalf("workflow %s: no pod node %q: %s", wf.Name, name, harness.Describe(wf))
	return wfv1.NodeStatus{}
}

// outputParam returns a node's output parameter.
func outputParam(t *testing.T, n wfv1.NodeStatus, name string) string {
	t.Helper()
	if n.Outputs != nil {
		for _, p := range n.Outputs.Parameters {
			if p.Name == name && p.Value != nil {
				// Argo holds kfp-argo's encoding (a value ending in a newline travels encoded, so that
				// argoexec's trim cannot eat it); the value the task wrote is its decoding, as records show.
				v, _ := translate.DecodeValue(p.Value.String())
				return v
			}
		}
	}
	t.Fatalf("node %s: no output parameter %q (outputs %+v)", n.DisplayName, name, n.Outputs)
	return ""
}

// TestSmoke runs a three-task Python pipeline (three `add_numbers` tasks,
// each fed by the one before) on real pods: KFP's SDK executor computes
// every sum in the Python image, Argo's executor reports it.
func TestSmoke(t *testing.T) {
	ctx := context.Background()
	wf := compileCorpus(t, "essential/pipeline_with_reused_component.yaml", translate.Options{NoCache: true})
	began := time.Now()
	done, err := runWorkflow(ctx, wf, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-task Python pipeline %s: %s in %.1fs", done.Name, done.Status.Phase, time.Since(began).Seconds())
	if done.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("want Succeeded: %s", harness.Describe(done))
	}
	// Defaults a=2, b=5: add-numbers(a, 3)=5, add-numbers-2(5, b)=10,
	// add-numbers-3(10, 7)=17.
	for task, want := range map[string]string{"add-numbers": "5", "add-numbers-2": "10", "add-numbers-3": "17"} {
		if got := outputParam(t, podNode(t, done, task), "Output"); got != want {
			t.Errorf("%s: Output %s, want %s", task, got, want)
		}
	}
}

// BenchmarkThreeTaskPipeline measures a warm 3-task Python pipeline on real
// pods, from create to Succeeded (docs/benchmarks.md).
func BenchmarkThreeTaskPipeline(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		wf := compileCorpus(b, "essential/pipeline_with_reused_component.yaml", translate.Options{NoCache: true})
		b.StartTimer()
		done, err := runWorkflow(ctx, wf, 5*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if done.Status.Phase != wfv1.WorkflowSucceeded {
			b.Fatalf("want Succeeded: %s", harness.Describe(done))
		}
	}
}
