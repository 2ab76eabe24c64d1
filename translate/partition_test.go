package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// compileParts compiles an IR with DAGs cut into parts of at most limit tasks, and validates it.
func compileParts(t *testing.T, ir []byte, limit int) *wfv1.Workflow {
	t.Helper()
	wf := compileUnchecked(t, ir, limit)
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

// compileUnchecked compiles without Argo's validator, which is quadratic in the tasks of a DAG left whole.
func compileUnchecked(t *testing.T, ir []byte, limit int) *wfv1.Workflow {
	t.Helper()
	p, err := Load("synthetic.yaml", ir)
	if err != nil {
		t.Fatal(err)
	}
	c := newCompiler(p, Options{})
	c.maxDAGTasks = limit
	wf, err := c.compile()
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// TestPartitionKeepsEveryDependency: with DAGs of at most 200 tasks, the workflow of a 600-task pipeline has
// the IR's tasks once each, no DAG over the limit, parts that depend on parts only where one of their tasks
// depended on a task of the other, and the parts listed for the run record.
func TestPartitionKeepsEveryDependency(t *testing.T) {
	ir := synthir.Generate(600, 7)
	wf := compileParts(t, ir, maxDAGTasks)
	var parts []string
	if err := json.Unmarshal([]byte(wf.Annotations[AnnotationDAGParts]), &parts); err != nil || len(parts) < 3 {
		t.Fatalf("parts %q: %v", wf.Annotations[AnnotationDAGParts], err)
	}
	isPart := map[string]bool{}
	for _, p := range parts {
		isPart[p] = true
	}
	whole := compileUnchecked(t, ir, 1<<30)
	root := templateNamed(t, whole, whole.Spec.Entrypoint)
	want := map[string]string{} // task -> depends in the whole DAG
	for _, task := range root.DAG.Tasks {
		want[task.Name] = task.Depends
	}
	where := map[string]string{} // task -> part template
	got := map[string][]string{} // task -> depends inside its part
	partDeps := map[string]string{}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG == nil {
			continue
		}
		if len(tmpl.DAG.Tasks) > maxDAGTasks {
			t.Errorf("template %s has %d tasks", tmpl.Name, len(tmpl.DAG.Tasks))
		}
		for _, task := range tmpl.DAG.Tasks {
			if isPart[task.Template] {
				partDeps[task.Template] = task.Depends
				continue
			}
			if isPart[tmpl.Name] {
				if _, dup := where[task.Name]; dup {
					t.Errorf("task %s twice", task.Name)
				}
				where[task.Name] = tmpl.Name
				if task.Depends != "" {
					got[task.Name] = strings.Split(task.Depends, " && ")
				}
			}
		}
	}
	partTask := map[string]string{} // part template -> its task name in the parent
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG != nil {
			for _, task := range tmpl.DAG.Tasks {
				if isPart[task.Template] {
					partTask[task.Template] = task.Name
				}
			}
		}
	}
	needed := map[string]map[string]bool{} // part -> parts it must depend on
	for name, deps := range want {
		p, ok := where[name]
		if !ok {
			t.Errorf("task %s is in no part", name)
			continue
		}
		inside := map[string]bool{}
		for _, d := range got[name] {
			inside[d] = true
		}
		if deps == "" {
			continue
		}
		for _, d := range strings.Split(deps, " && ") {
			switch {
			case where[d] == p && !inside[d]:
				t.Errorf("task %s lost its dependency on %s (same part)", name, d)
			case where[d] != p:
				if needed[p] == nil {
					needed[p] = map[string]bool{}
				}
				needed[p][partTask[where[d]]] = true
			}
		}
	}
	for p, deps := range partDeps {
		have := map[string]bool{}
		if deps != "" {
			for _, d := range strings.Split(deps, " && ") {
				have[d] = true
			}
		}
		for d := range needed[p] {
			if !have[d] {
				t.Errorf("part %s does not wait for %s", p, d)
			}
		}
		for d := range have {
			if !needed[p][d] && !strings.HasPrefix(d, "part-") {
				t.Errorf("part %s waits for %s, which none of its tasks did", p, d)
			}
		}
	}
}

// TestPartitionedRunMatchesWhole runs a generated pipeline twice through Argo's template code and KFP's real
// executor, whole and cut into parts of at most 4 tasks: every task that ran in both gives the same outputs
// (the coin flips are random, so condition branches may differ).
func TestPartitionedRunMatchesWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("dozens of pods: skipped with -short")
	}
	env := kfpExecutorEnv(t)
	ir := synthir.Generate(16, 8) // a seed whose parts pass parameters and artifacts, with a condition and a loop
	outputs := func(wf *wfv1.Workflow) map[string]*runNode {
		r := newArgoRun(t, wf, env...)
		r.run()
		out := map[string]*runNode{}
		for name, n := range r.nodes {
			if n.failed {
				t.Errorf("%s failed", name)
			}
			out[name[strings.LastIndex(name, ".")+1:]] = n
		}
		return out
	}
	parted := compileParts(t, ir, 4)
	crossing := map[string]bool{}
	for _, tmpl := range parted.Spec.Templates {
		if strings.Contains(tmpl.Name, "-part-") {
			for _, in := range tmpl.Inputs.Parameters {
				crossing["parameter"] = crossing["parameter"] || strings.Contains(in.Name, "--")
			}
			for _, in := range tmpl.Inputs.Artifacts {
				crossing["artifact"] = crossing["artifact"] || strings.Contains(in.Name, "--")
			}
		}
	}
	if !strings.Contains(parted.Annotations[AnnotationDAGParts], "part-3") || !crossing["parameter"] || !crossing["artifact"] {
		t.Fatalf("parts %v, values crossing parts %v: the test needs both kinds", parted.Annotations[AnnotationDAGParts], crossing)
	}
	whole, cut := outputs(compileParts(t, ir, 1<<30)), outputs(parted)
	compared := len(compareRunOutputs(t, "in parts", whole, cut, func(name string) bool {
		return strings.HasPrefix(name, "flip-coin") || strings.HasPrefix(name, "condition-")
	}))
	if compared < 8 {
		t.Errorf("only %d tasks compared", compared)
	}
}

// unitStarts plays a workflow with every task taking one step and returns the step each IR task starts at.
func unitStarts(t *testing.T, wf *wfv1.Workflow, isPart map[string]bool) map[string]int {
	t.Helper()
	starts := map[string]int{}
	var run func(tmpl string, start int) int
	run = func(tmpl string, start int) int {
		dag := templateNamed(t, wf, tmpl).DAG
		if dag == nil {
			return start + 1
		}
		end := map[string]int{}
		finish := start
		for len(end) < len(dag.Tasks) {
			progressed := false
			for _, task := range dag.Tasks {
				if _, done := end[task.Name]; done {
					continue
				}
				s, ready := start, true
				if task.Depends != "" {
					for _, d := range strings.Split(task.Depends, " && ") {
						e, ok := end[d]
						ready = ready && ok
						s = max(s, e)
					}
				}
				if !ready {
					continue
				}
				if !isPart[task.Template] {
					starts[task.Name] = s
				}
				end[task.Name] = run(task.Template, s)
				finish = max(finish, end[task.Name])
				progressed = true
			}
			if !progressed {
				t.Fatalf("%s cannot progress", tmpl)
			}
		}
		return finish
	}
	run(wf.Spec.Entrypoint, 0)
	return starts
}

// TestPartitionStartsNoTaskLater: bands are whole levels, so with equal task durations every task starts at the
// same step cut into parts (one level of parts: DAGs up to 40,000 tasks) as in the whole DAG.
func TestPartitionStartsNoTaskLater(t *testing.T) {
	for _, limit := range []int{maxDAGTasks} {
		for _, seed := range []int64{1, 2, 3} {
			ir := synthir.Generate(1000, seed)
			parted := compileUnchecked(t, ir, limit)
			isPart := map[string]bool{}
			var parts []string
			if err := json.Unmarshal([]byte(parted.Annotations[AnnotationDAGParts]), &parts); err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				isPart[p] = true
			}
			whole, cut := unitStarts(t, compileUnchecked(t, ir, 1<<30), nil), unitStarts(t, parted, isPart)
			later := 0
			for name, s := range whole {
				if c, ok := cut[name]; !ok || c != s {
					later++
					if later <= 5 {
						t.Errorf("limit %d seed %d: %s starts at step %d, %d in the whole DAG", limit, seed, name, c, s)
					}
				}
			}
			if len(whole) < 1000 || len(parts) < 5 {
				t.Errorf("limit %d seed %d: %d tasks, %d parts", limit, seed, len(whole), len(parts))
			}
		}
	}
}

// kfpExecutorEnv is the environment in which a synthetic pipeline's pods run KFP's real executor: the SDK on the
// path and pip told that the kfp version the components ask for is installed (there is no index here).
func kfpExecutorEnv(t *testing.T) []string {
	t.Helper()
	sdk := kfpSDK(t)
	site := t.TempDir()
	dist := filepath.Join(site, "kfp-2.14.3.dist-info")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "METADATA"), []byte("Metadata-Version: 2.1\nName: kfp\nVersion: 2.14.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{sdk + ":" + site, "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_ROOT_USER_ACTION=ignore"}
}

// compareRunOutputs compares the output parameters of every task that ran in both runs (keyed alike, neither
// skipped, not left out by skip) and returns the keys compared. Artifact metadata is left out: it names the
// producing pod.
func compareRunOutputs(t *testing.T, what string, want, got map[string]*runNode, skip func(string) bool) []string {
	t.Helper()
	var compared []string
	for key, w := range want {
		g, ok := got[key]
		if !ok || w.skipped || g.skipped || skip(key) {
			continue
		}
		for k, v := range w.params {
			if !strings.HasPrefix(k, MetadataParameterPrefix) && g.params[k] != v {
				t.Errorf("%s output %s: %q %s, %q not", key, k, g.params[k], what, v)
			}
		}
		compared = append(compared, key)
	}
	return compared
}
