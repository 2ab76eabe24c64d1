package translate

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// compileShared compiles an IR sharing DAG templates of the same shape once it has more than limit templates,
// and validates the result with Argo's validator.
func compileShared(t *testing.T, file string, ir []byte, limit int) *wfv1.Workflow {
	t.Helper()
	p, err := Load(file, ir)
	if err != nil {
		t.Fatal(err)
	}
	return compileLoaded(t, p, Options{}, limit)
}

func compileLoaded(t *testing.T, p *Pipeline, opts Options, limit int) *wfv1.Workflow {
	t.Helper()
	c := newCompiler(p, opts)
	c.maxTemplates = limit
	wf, err := c.compile()
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatalf("%s (shared above %d templates): %v", p.File, limit, err)
	}
	return wf
}

// irNamer finds the IR name of each task on an Argo path of DAG task names through the workflow's
// annotations (task names, DAG parts, shared DAGs): the contract the run record reads (experiments'
// lookupTaskName), followed here over the templates instead of over node status.
type irNamer struct {
	wf            *wfv1.Workflow
	refs          map[string]TaskRef
	parts, shared map[string]bool
	byName        map[string]*wfv1.Template
}

func newIRNamer(t *testing.T, wf *wfv1.Workflow) irNamer {
	t.Helper()
	refs, err := DecodeTaskNames(wf.Annotations[AnnotationTaskNames])
	if err != nil {
		t.Fatal(err)
	}
	n := irNamer{wf: wf, refs: refs, byName: map[string]*wfv1.Template{},
		parts: TemplateSet(wf.Annotations, AnnotationDAGParts), shared: TemplateSet(wf.Annotations, AnnotationSharedDAGs)}
	for i := range wf.Spec.Templates {
		n.byName[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	return n
}

// walkCtx is where a task name is read: the DAG template holding it, the nearest one that is not a part, and
// the path key while inside a shared template.
type walkCtx struct {
	cur, owner, key string
}

// irName is the IR name of Argo task seg in ctx, and the context of what that task calls.
func (n irNamer) irName(ctx walkCtx, seg string) (string, walkCtx, *wfv1.DAGTask) {
	var task *wfv1.DAGTask
	if tmpl := n.byName[ctx.cur]; tmpl != nil && tmpl.DAG != nil {
		for i := range tmpl.DAG.Tasks {
			if tmpl.DAG.Tasks[i].Name == seg {
				task = &tmpl.DAG.Tasks[i]
			}
		}
	}
	name := seg
	if n.shared[ctx.owner] {
		if ref, ok := n.refs[ctx.key+"/"+seg]; ok && ref.Task != "" {
			name = ref.Task
		}
	} else if ref, ok := n.refs[ctx.cur+"/"+seg]; ok && ref.Task != "" {
		name = ref.Task
	} else if ref, ok := n.refs[seg]; ok && ref.Task != "" {
		name = ref.Task
	}
	if task == nil {
		return name, walkCtx{}, nil
	}
	callee := task.Template
	next := walkCtx{cur: callee, owner: callee}
	switch {
	case n.parts[callee]:
		next = walkCtx{cur: callee, owner: ctx.owner, key: ctx.key}
	case n.shared[callee]:
		next.key = ctx.owner + "/" + seg
		if n.shared[ctx.owner] {
			next.key = ctx.key + "/" + seg
		}
	}
	return name, next, task
}

// irPath names an Argo node path (task names below the workflow, loop and retry suffixes allowed) in IR
// names, parts left out.
func (n irNamer) irPath(segs []string) string {
	ctx := walkCtx{cur: n.wf.Spec.Entrypoint, owner: n.wf.Spec.Entrypoint}
	var out []string
	for _, seg := range segs {
		if i := strings.IndexByte(seg, '('); i > 0 {
			seg = seg[:i]
		}
		name, next, _ := n.irName(ctx, seg)
		if !n.parts[next.cur] {
			out = append(out, name)
		}
		ctx = next
	}
	return strings.Join(out, "/")
}

// leaves lists every container call reachable from the entrypoint (loops not expanded) as "IR path -> called
// template's content hash and argument names".
func (n irNamer) leaves(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(ctx walkCtx, path []string, depth int)
	walk = func(ctx walkCtx, path []string, depth int) {
		tmpl := n.byName[ctx.cur]
		if depth > 50 || tmpl == nil || tmpl.DAG == nil {
			return
		}
		for _, task := range tmpl.DAG.Tasks {
			name, next, _ := n.irName(ctx, task.Name)
			p := path
			if !n.parts[task.Template] {
				p = append(append([]string(nil), path...), name)
			}
			callee := n.byName[task.Template]
			if callee == nil {
				t.Fatalf("task %s calls %q, which is no template", task.Name, task.Template)
			}
			if callee.DAG != nil {
				walk(next, p, depth+1)
				continue
			}
			key := strings.Join(p, "/")
			if _, dup := out[key]; dup {
				t.Errorf("IR path %s twice", key)
			}
			body := *callee
			body.Name = ""
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			for _, a := range task.Arguments.Parameters {
				args = append(args, a.Name)
			}
			for _, a := range task.Arguments.Artifacts {
				args = append(args, "artifact:"+a.Name)
			}
			sort.Strings(args)
			out[key] = fmt.Sprintf("%x %s", sha256.Sum256(raw), strings.Join(args, ","))
		}
	}
	walk(walkCtx{cur: n.wf.Spec.Entrypoint, owner: n.wf.Spec.Entrypoint}, nil, 0)
	return out
}

// TestSharedShapesStayWithinTemplates: a 3,000-task SDK-style pipeline (hundreds of condition and loop
// DAGs) compiles, with the default limits, to at most 200 templates that Argo's validator accepts, and every
// IR task is still called once, at its IR path, with the same container template and argument names as
// without sharing.
func TestSharedShapesStayWithinTemplates(t *testing.T) {
	ir := synthir.Generate(3000, 1)
	wf := compileShared(t, "synthetic-3000.yaml", ir, maxTemplates)
	if n := len(wf.Spec.Templates); n > maxTemplates {
		t.Fatalf("%d templates, want at most %d", n, maxTemplates)
	}
	if wf.Annotations[AnnotationSharedDAGs] == "" {
		t.Fatal("no shared DAG templates listed")
	}
	unshared := compileShared(t, "synthetic-3000.yaml", ir, 1<<30)
	if n := len(unshared.Spec.Templates); n <= maxTemplates {
		t.Fatalf("without sharing the pipeline has only %d templates: the test needs more than %d", n, maxTemplates)
	}
	if n := compareLeaves(t, "synthetic-3000", newIRNamer(t, unshared).leaves(t), newIRNamer(t, wf).leaves(t)); n < 2000 {
		t.Errorf("only %d container calls found", n)
	}
}

// compareLeaves compares the container calls of two compiles of one pipeline and returns how many there are.
func compareLeaves(t *testing.T, what string, want, got map[string]string) int {
	t.Helper()
	for path, w := range want {
		if g, ok := got[path]; !ok {
			t.Errorf("%s: IR task %s is not called when shared", what, path)
		} else if g != w {
			t.Errorf("%s: IR task %s calls %s when shared, %s without", what, path, g, w)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("%s: shared, an IR task %s that does not exist is called", what, path)
		}
	}
	return len(want)
}

// TestSharedShapesOverCorpus forces sharing on every corpus pipeline (a limit of one template): each compiles,
// passes Argo's validator, and calls every IR task at its IR path as the default compile does.
func TestSharedShapesOverCorpus(t *testing.T) {
	files := corpusFiles(t, "valid")
	sharedSome, calls := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Load(f, raw)
		if err != nil {
			continue // TestCorpus covers what does not load
		}
		opts := corpusOptions(p)
		if _, err := Compile(p, opts); err != nil {
			continue // and what does not compile
		}
		plain := compileLoaded(t, p, opts, 1<<30)
		forced := compileLoaded(t, p, opts, 1)
		if forced.Annotations[AnnotationSharedDAGs] != "" {
			sharedSome++
		}
		calls += compareLeaves(t, filepath.Base(f), newIRNamer(t, plain).leaves(t), newIRNamer(t, forced).leaves(t))
	}
	if calls < 300 {
		t.Errorf("only %d container calls in the corpus", calls)
	}
	if sharedSome < 3 {
		t.Errorf("only %d corpus pipelines had DAGs of the same shape", sharedSome)
	}
	t.Logf("%d files, %d with shared DAG templates, %d container calls compared", len(files), sharedSome, calls)
}

// TestSharedRunMatchesUnshared runs a generated pipeline twice through Argo's template code and KFP's real
// executor, as compiled and with every DAG of the same shape shared: every IR task that ran in both, named
// through the annotations, gives the same outputs (the coin flips are random, so branches may differ).
func TestSharedRunMatchesUnshared(t *testing.T) {
	if testing.Short() {
		t.Skip("dozens of pods: skipped with -short")
	}
	env := kfpExecutorEnv(t)
	ir := synthir.Generate(18, 20) // a seed with a condition and a loop body of shapes seen before
	outputs := func(wf *wfv1.Workflow) map[string]*runNode {
		r := newArgoRun(t, wf, env...)
		r.run()
		namer := newIRNamer(t, wf)
		out := map[string]*runNode{}
		for name, n := range r.nodes {
			if n.failed {
				t.Errorf("%s failed", name)
			}
			out[namer.irPath(strings.Split(strings.TrimPrefix(name, r.name+"."), "."))] = n
		}
		return out
	}
	plain := compileShared(t, "synthetic-18.yaml", ir, 1<<30)
	shared := compileShared(t, "synthetic-18.yaml", ir, 1)
	var list []string
	if err := json.Unmarshal([]byte(shared.Annotations[AnnotationSharedDAGs]), &list); err != nil || len(list) < 2 {
		t.Fatalf("shared DAG templates %q: the test needs at least two", shared.Annotations[AnnotationSharedDAGs])
	}
	if len(shared.Spec.Templates) >= len(plain.Spec.Templates) {
		t.Fatalf("%d templates shared, %d not", len(shared.Spec.Templates), len(plain.Spec.Templates))
	}
	keys := compareRunOutputs(t, "shared", outputs(plain), outputs(shared), func(path string) bool { return strings.Contains(path, "flip-coin") })
	compared, inside := len(keys), 0
	for _, path := range keys {
		if strings.Contains(path, "/") {
			inside++
		}
	}
	if compared < 8 || inside < 3 {
		t.Errorf("only %d tasks compared, %d inside conditions or loops", compared, inside)
	}
	t.Logf("%d tasks compared, %d inside conditions or loops; shared: %v", compared, inside, list)
}

// TestEstimateRunSize counts the nodes a run creates: the entrypoint, one per task, a group and one per item
// for a loop over a static list, a group and one for a run-time list, a retry node, and a DAG's own tasks per
// call of it.
func TestEstimateRunSize(t *testing.T) {
	items := []wfv1.Item{{}, {}, {}}
	wf := &wfv1.Workflow{Spec: wfv1.WorkflowSpec{Entrypoint: "main", Templates: []wfv1.Template{
		{Name: "main", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
			{Name: "a", Template: "pod"},
			{Name: "b", Template: "retried"},
			{Name: "loop", Template: "body", WithItems: items},
			{Name: "dyn", Template: "pod", WithParam: "{{tasks.a.outputs.result}}"},
			{Name: "sub", Template: "body"},
		}}},
		{Name: "body", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{{Name: "x", Template: "pod"}, {Name: "y", Template: "pod"}}}},
		{Name: "pod", Container: &corev1.Container{Image: "i"}},
		{Name: "retried", Container: &corev1.Container{Image: "i"}, RetryStrategy: &wfv1.RetryStrategy{}},
	}}}
	s, err := EstimateRunSize(wf)
	if err != nil {
		t.Fatal(err)
	}
	// main 1 + a 1 + b 2 + loop (1 + 3×3) + dyn (1 + 1) + sub 3
	if want := 1 + 1 + 2 + 10 + 2 + 3; s.Nodes != want {
		t.Errorf("%d nodes, want %d", s.Nodes, want)
	}
	if s.Status() != s.Nodes*statusBytesPerNode || s.Spec < 200 {
		t.Errorf("status %d bytes, spec %d", s.Status(), s.Spec)
	}
	if warn, err := RunSizeWarning(wf); err != nil || warn != "" {
		t.Errorf("a small workflow: warning %q, %v", warn, err)
	}
}
