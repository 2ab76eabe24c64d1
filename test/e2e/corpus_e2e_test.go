//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
	"github.com/kfp-argo/kfp-argo/translate"
)

// mustSucceed are corpus pipelines whose run is asserted in detail: they
// must reach Succeeded and at least one output must be seen to flow from a
// producer pod to a consumer pod.
var mustSucceed = []string{
	"critical/two_step_pipeline_containerized.yaml",
	"essential/lightweight_python_functions_with_outputs.yaml",
}

// expected lists corpus pipelines that do not end Succeeded here, and why.
// Anything else must end Succeeded.
var expected = map[string]struct {
	phase   wfv1.WorkflowPhase
	message string // substring of some node's message
}{
	// Its container has args but no command, so Argo's controller looks
	// the image's entrypoint up in its registry; there is no network here
	// (and the image, gcr.io/image, exists nowhere).
	"pipeline_with_various_io_types.yaml": {wfv1.WorkflowError, "failed to look-up entrypoint/cmd"},
	// The accelerator type NVIDIA_TESLA_P4 becomes a resource name, which
	// the apiserver rejects (KFP's own driver does the same).
	"pipeline_with_string_machine_fields_pipeline_input.yaml": {wfv1.WorkflowError, "must be a standard resource type or fully qualified"},
	"pipeline_with_string_machine_fields_task_output.yaml":    {wfv1.WorkflowError, "must be a standard resource type or fully qualified"},
}

// corpusOutputs gives output values, by file and IR task name, where a
// placeholder of the right type is not enough because the pipeline looks
// inside the value (the stand-in runs no code, so it cannot know the shape).
var corpusOutputs = map[string]map[string]map[string]string{
	"pipeline_with_parallelfor_parallelism.yaml": {
		"list-dict-maker-0":   {"Output": listOfDicts},
		"list-dict-maker-1":   {"Output": listOfDicts},
		"list-dict-maker-1-2": {"Output": listOfDicts},
		"list-dict-maker-2":   {"Output": listOfDicts},
		"list-dict-maker-3":   {"Output": listOfDicts},
	},
	// The task outputs become resource limits: they must be quantities.
	"pipeline_with_string_machine_fields_task_output.yaml": {
		"accelerator-limit": {"Output": "1"},
		"accelerator-type":  {"Output": "NVIDIA_TESLA_P4"},
		"cpu-limit":         {"Output": "4000m"},
		"memory-limit":      {"Output": "15G"},
	},
	"parallel_and_nested/pipeline_with_loops.yaml": {
		"args-generator-op": {"Output": `[{"A_a": "1", "B_b": "2"}, {"A_a": "10", "B_b": "20"}]`},
	},
	"pipeline_with_loops_and_conditions.yaml": {
		"args-generator-op":   {"Output": `[{"A_a": "1", "B_b": ["2", "20"]}, {"A_a": "10", "B_b": ["22", "222"]}]`},
		"args-generator-op-2": {"Output": `[{"A_a": "1", "B_b": ["2", "20"]}, {"A_a": "10", "B_b": ["22", "222"]}]`},
	},
}

// knownIssues are corpus pipelines that compile but do not run correctly
// yet, with what goes wrong; they are not submitted (a hung run costs the
// whole deadline). Delete an entry once the compiler handles it: the test
// then checks it like every other pipeline.
var knownIssues = map[string]string{}

// listOfDicts is what the list-dict-maker components return.
const listOfDicts = `[{"a": 1, "b": 2}, {"a": 2, "b": 3}, {"a": 3, "b": 4}]`

// TestCorpusDryRun compiles every corpus pipeline and submits each that
// compiles with a server-side dry run: the apiserver, with Argo's full CRD
// schemas, must accept all of them.
func TestCorpusDryRun(t *testing.T) {
	dir := corpus.Dir(t)
	files := corpus.Files(t, dir, ".yaml", ".yml", ".json", ".zip", ".tar.gz")
	compiled, accepted := 0, 0
	var notCompiled []string
	for _, f := range files {
		p, err := translate.LoadFile(filepath.Join(dir, f))
		if err != nil {
			notCompiled = append(notCompiled, fmt.Sprintf("%s: load: %v", f, err))
			continue
		}
		wf, err := translate.Compile(p, translate.Options{Parameters: corpus.SampleParameters(p), InputArtifacts: sampleInputArtifacts(p)})
		if err != nil {
			notCompiled = append(notCompiled, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		compiled++
		_, err = createWorkflow(context.Background(), wf, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Errorf("%s: server-side dry run rejected the compiled workflow: %v", f, err)
			continue
		}
		accepted++
	}
	for _, s := range notCompiled {
		t.Logf("not compiled (not submitted): %s", s)
	}
	t.Logf("corpus dry run: %d files, %d compiled, %d accepted by the apiserver", len(files), compiled, accepted)
	if compiled == 0 {
		t.Errorf("no corpus pipeline compiled")
	}
}

// TestCorpusRun compiles every corpus pipeline (.yaml), submits the ones that
// compile and drives them to completion with the stand-in giving every
// output a distinct value of its IR type. Each completed run is checked for
// parameter and artifact flow: whatever a producer pod reported must be what
// the consumer pod was given.
func TestCorpusRun(t *testing.T) {
	dir := corpus.Dir(t)
	files := corpus.Files(t, dir, ".yaml")

	type run struct {
		file   string
		wf     *wfv1.Workflow
		done   *wfv1.Workflow
		flows  int
		issues []string
		// expectedNote says why a run listed in expected is fine.
		expectedNote string
	}
	var runs []*run
	for _, f := range files {
		if why, ok := knownIssues[f]; ok {
			t.Logf("%s: not run, known issue: %s", f, why)
			continue
		}
		p, err := translate.LoadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		wf, err := translate.Compile(p, translate.Options{
			Name:           harness.NewName("corpus"),
			NoCache:        true, // every run must create its pods
			Parameters:     corpus.SampleParameters(p),
			InputArtifacts: sampleInputArtifacts(p),
		})
		if err != nil {
			continue
		}
		if wf.Spec.ActiveDeadlineSeconds == nil {
			d := int64(180)
			wf.Spec.ActiveDeadlineSeconds = &d
		}
		types, irName, fixed := outputTypes(p), irTaskNames(p, wf), corpusOutputs[f]
		behaviours.Store(wf.Name, standin.Func(func(task standin.Task) standin.Result {
			out := map[string]string{}
			for _, o := range task.Template.Outputs.Parameters {
				if typ := types[task.TemplateName][o.Name]; typ != "" {
					out[o.Name] = distinctValue(typ, task.NodeName+"/"+o.Name)
				}
			}
			for k, v := range fixed[irName(task)] {
				out[k] = v
			}
			return standin.Result{Outputs: out}
		}))
		t.Cleanup(func() { behaviours.Delete(wf.Name) })
		runs = append(runs, &run{file: f, wf: wf})
	}
	if len(runs) == 0 {
		t.Fatal("no corpus pipeline compiled")
	}

	// Pipelines that mount an existing claim get its name from a string
	// parameter, which corpus.SampleParameters sets to its name.
	if err := corpus.EnsureClaim(context.Background(), env.kube, env.ns); err != nil {
		t.Fatal(err)
	}

	// A few at a time: all at once would measure the machine, not the
	// workflows.
	began := time.Now()
	sem := make(chan struct{}, 6)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx := context.Background()
			if _, err := createWorkflow(ctx, r.wf, metav1.CreateOptions{}); err != nil {
				r.issues = append(r.issues, "create: "+err.Error())
				return
			}
			r.done = pollDone(ctx, r.wf.Name, 3*time.Minute)
		}()
	}
	wg.Wait()
	t.Logf("corpus run: %d workflows completed in %.1fs", len(runs), time.Since(began).Seconds())

	asExpected := 0
	byFile := map[string]*run{}
	for _, r := range runs {
		byFile[r.file] = r
		if r.done == nil {
			r.issues = append(r.issues, "did not complete")
			continue
		}
		if exp, ok := expected[r.file]; ok {
			if r.done.Status.Phase != exp.phase || !harness.NodeMessageContains(r.done, exp.message) {
				r.issues = append(r.issues, fmt.Sprintf("want %s with %q, got %s", exp.phase, exp.message, harness.Describe(r.done)))
				continue
			}
			asExpected++
			r.expectedNote = fmt.Sprintf("%s as expected (%s)", exp.phase, exp.message)
			continue
		}
		if r.done.Status.Phase != wfv1.WorkflowSucceeded {
			r.issues = append(r.issues, harness.Describe(r.done))
			continue
		}
		asExpected++
		r.flows, r.issues = checkFlows(r.done)
	}
	for _, r := range runs {
		if len(r.issues) > 0 {
			t.Errorf("%s (%s): %s", r.file, r.wf.Name, strings.Join(r.issues, "; "))
		} else if r.expectedNote != "" {
			t.Logf("%s: %s", r.file, r.expectedNote)
		} else {
			t.Logf("%s: Succeeded, %d producer->consumer flows checked", r.file, r.flows)
		}
	}
	for _, f := range mustSucceed {
		r := byFile[f]
		switch {
		case r == nil:
			t.Errorf("%s: not compiled or missing from the corpus", f)
		case r.flows == 0 && len(r.issues) == 0:
			t.Errorf("%s: no output was seen flowing from a producer to a consumer", f)
		}
	}
	t.Logf("corpus: %d pipelines compiled and submitted, %d ran to the expected phase on the real controller", len(runs), asExpected)
}

// pollDone is waitDone for goroutines: instead of failing it returns the
// workflow as last read (nil if never), which has not completed.
func pollDone(ctx context.Context, name string, timeout time.Duration) *wfv1.Workflow {
	wf, _ := harness.WaitDone(ctx, env.argo.ArgoprojV1alpha1().Workflows(env.ns), name, timeout)
	return wf
}

var (
	taskParamRef = regexp.MustCompile(`^\{\{tasks\.([A-Za-z0-9_-]+)\.outputs\.parameters\.([A-Za-z0-9_-]+)\}\}$`)
	taskArtRef   = regexp.MustCompile(`^\{\{tasks\.([A-Za-z0-9_-]+)\.outputs\.artifacts\.([A-Za-z0-9_-]+)\}\}$`)
)

// checkFlows compares, for every DAG task argument that is exactly a
// sibling task's output, what the stand-in reported for the producer pod with
// what the controller gave the consumer pod. Tasks that ran more than once
// (loops, retries) or whose name is not unique in the workflow are skipped.
func checkFlows(wf *wfv1.Workflow) (checked int, issues []string) {
	got := handled(wf.Name)
	one := func(task string) (standin.Handled, bool) {
		if hs := got[task]; len(hs) == 1 {
			return hs[0], true
		}
		return standin.Handled{}, false
	}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG == nil {
			continue
		}
		for _, task := range tmpl.DAG.Tasks {
			consumer, ok := one(task.Name)
			if !ok {
				continue
			}
			for _, a := range task.Arguments.Parameters {
				if a.Value == nil {
					continue
				}
				m := taskParamRef.FindStringSubmatch(a.Value.String())
				if m == nil {
					continue
				}
				producer, ok := one(m[1])
				if !ok {
					continue
				}
				want, have := producer.Outputs[m[2]], consumer.Task.Inputs[a.Name]
				if want != have {
					issues = append(issues, fmt.Sprintf("task %s input %s = %q, producer %s reported %s = %q", task.Name, a.Name, have, m[1], m[2], want))
				}
				checked++
			}
			for _, a := range task.Arguments.Artifacts {
				m := taskArtRef.FindStringSubmatch(a.From)
				if m == nil {
					continue
				}
				producer, ok := one(m[1])
				if !ok {
					continue
				}
				want, have := producer.OutputArtifacts[m[2]], consumer.Task.InputArtifacts[a.Name]
				if want == "" || want != have {
					issues = append(issues, fmt.Sprintf("task %s artifact %s = %q, producer %s reported %s = %q", task.Name, a.Name, have, m[1], m[2], want))
				}
				checked++
			}
		}
	}
	return checked, issues
}

// irTaskNames maps a pod's task back to its IR task name: through the
// compiler's task-names annotation (which lists only the names that differ),
// else the Argo task name when it is an IR task's, else (exit handlers run as
// Argo onExit hooks, whose node is named "onExit") through the one IR task
// that uses the pod's template as its component, else the Argo task name.
func irTaskNames(p *translate.Pipeline, wf *wfv1.Workflow) func(standin.Task) string {
	m, _ := translate.DecodeTaskNames(wf.Annotations[translate.AnnotationTaskNames])
	byComponent, irTasks := map[string][]string{}, map[string]bool{}
	comps := []*translate.ComponentSpec{p.Spec.Root}
	for _, c := range p.Spec.Components {
		comps = append(comps, c)
	}
	for _, c := range comps {
		if c == nil || c.DAG == nil {
			continue
		}
		for name, task := range c.DAG.Tasks {
			byComponent[task.ComponentRef.Name] = append(byComponent[task.ComponentRef.Name], name)
			irTasks[name] = true
		}
	}
	return func(t standin.Task) string {
		if e, ok := m[t.TaskName]; ok && e.Task != "" {
			return e.Task
		}
		// Templates are shared by components with the same content, so a
		// template name no longer tells the task; an unchanged name does.
		if irTasks[t.TaskName] {
			return t.TaskName
		}
		if names := byComponent[t.TemplateName]; len(names) == 1 {
			return names[0]
		}
		return t.TaskName
	}
}

// outputTypes maps compiled template name (the IR component key) to its
// output parameters' IR types.
func outputTypes(p *translate.Pipeline) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, c := range p.Spec.Components {
		if c == nil || c.OutputDefinitions == nil {
			continue
		}
		m := map[string]string{}
		for pn, ps := range c.OutputDefinitions.Parameters {
			m[pn] = ps.ParameterType
		}
		out[name] = m
	}
	return out
}

// distinctValue is a value of the IR type that differs per seed, so a
// consumer receiving the wrong producer's output is noticed.
func distinctValue(typ, seed string) string {
	h := fnv.New32a()
	h.Write([]byte(seed))
	n := h.Sum32() % 100000
	switch typ {
	case "NUMBER_INTEGER":
		return fmt.Sprint(n)
	case "NUMBER_DOUBLE":
		return fmt.Sprintf("%d.5", n)
	case "BOOLEAN":
		return fmt.Sprint(n%2 == 0)
	case "LIST":
		return fmt.Sprintf(`["v%d"]`, n)
	case "STRUCT":
		return fmt.Sprintf(`{"v":%d}`, n)
	default:
		return fmt.Sprintf("v%d", n)
	}
}

// sampleInputArtifacts locates every required root input artifact in a
// GCS bucket (never read: pods don't run; an S3 location in another bucket
// than the repository's would need compile's --artifact-store).
func sampleInputArtifacts(p *translate.Pipeline) map[string]string {
	out := map[string]string{}
	if p.Spec.Root == nil || p.Spec.Root.InputDefinitions == nil {
		return out
	}
	for name, a := range p.Spec.Root.InputDefinitions.Artifacts {
		if !a.IsOptional {
			out[name] = "gs://" + cluster.ArtifactBucket + "/inputs/" + name
		}
	}
	return out
}
