package translate

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

// argoRun plays the Argo controller's and executor's part for one compiled workflow on this machine, so that the
// pod side (wrapper, launcher, KFP's real executor) runs as it would in a cluster: DAG tasks in dependency order,
// `when` evaluated and loops expanded with Argo's template engine, templates rendered with
// workflow/common.ProcessArgs, pod names made by Argo's GeneratePodName, output parameters read as argoexec reads
// them (one trailing newline trimmed), loop outputs aggregated as the controller aggregates them, and artifacts
// copied through a local store: keyed ones (S3 key) under their rendered key, others per producing pod.
type argoRun struct {
	t       *testing.T
	wf      *wfv1.Workflow
	name    string
	g       common.Parameters
	dir     string
	env     []string
	nodes   map[string]*runNode // by node name
	podName map[string]string   // node name -> pod name
}

// runNode is what a finished node leaves for the tasks after it.
type runNode struct {
	skipped bool
	failed  bool              // the pod failed (the test has reported it), or a task it depends on did
	params  map[string]string // output parameter values as Argo holds them
	arts    map[string]string // output artifact -> local copy in the store
}

// podRootAs is the host folder that stands for a pod's /tmp/kfp.
func (r *argoRun) podRootAs(pod string) string { return filepath.Join(r.dir, "pods", pod) }

func newArgoRun(t *testing.T, wf *wfv1.Workflow, env ...string) *argoRun {
	t.Helper()
	name := wf.Name
	if name == "" {
		name = wf.GenerateName + "x7k2p"
	}
	g := globals(wf, nil)
	g["workflow.name"] = name
	return &argoRun{t: t, wf: wf, name: name, g: g, dir: t.TempDir(), env: env, nodes: map[string]*runNode{}, podName: map[string]string{}}
}

// run runs the entrypoint DAG and returns its outputs.
func (r *argoRun) run() *runNode {
	r.t.Helper()
	return r.dag(templateNamed(r.t, r.wf, r.wf.Spec.Entrypoint), r.name, map[string]any{})
}

func (r *argoRun) scope(local map[string]any) map[string]any {
	s := map[string]any{}
	for k, v := range r.g {
		s[k] = v
	}
	for k, v := range local {
		s[k] = v
	}
	return s
}

var dependsName = regexp.MustCompile(`[A-Za-z0-9][-A-Za-z0-9]*`)

// dag runs a DAG template's tasks; local holds its inputs (inputs.parameters.x, and inputs.artifacts.x as store
// paths).
func (r *argoRun) dag(tmpl *wfv1.Template, node string, local map[string]any) *runNode {
	r.t.Helper()
	done := map[string]*runNode{}
	scope := map[string]any{}
	for k, v := range local {
		scope[k] = v
	}
	for len(done) < len(tmpl.DAG.Tasks) {
		progressed := false
		for _, task := range tmpl.DAG.Tasks {
			if done[task.Name] != nil {
				continue
			}
			ready, upstreamFailed := true, false
			for _, d := range dependsName.FindAllString(task.Depends, -1) {
				if d == "Succeeded" || d == "Skipped" || d == "Failed" || d == "Errored" || d == "Omitted" || d == "Daemoned" {
					continue
				}
				if done[d] == nil {
					ready = false
				} else if done[d].failed {
					upstreamFailed = true
				}
			}
			if !ready {
				continue
			}
			n := &runNode{failed: true}
			if !upstreamFailed {
				n = r.task(task, node+"."+task.Name, r.scope(scope))
			}
			done[task.Name] = n
			r.nodes[node+"."+task.Name] = n
			status := "Succeeded"
			if n.skipped {
				status = "Skipped"
			}
			scope["tasks."+task.Name+".status"] = status
			for k, v := range n.params {
				scope["tasks."+task.Name+".outputs.parameters."+k] = v
			}
			for k, v := range n.arts {
				scope["tasks."+task.Name+".outputs.artifacts."+k] = v
			}
			progressed = true
		}
		if !progressed {
			r.t.Fatalf("%s: DAG cannot progress (dependency cycle or unknown task)", tmpl.Name)
		}
	}
	return r.outputs(tmpl, r.scope(scope))
}

// outputs resolves a DAG template's outputs in its scope, as the controller does when the DAG completes.
func (r *argoRun) outputs(tmpl *wfv1.Template, scope map[string]any) *runNode {
	r.t.Helper()
	out := &runNode{params: map[string]string{}, arts: map[string]string{}}
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom == nil {
			continue
		}
		var text string
		if p.ValueFrom.Expression != "" {
			text = "{{=" + p.ValueFrom.Expression + "}}"
		} else {
			text = p.ValueFrom.Parameter
		}
		v, err := template.Replace(mustJSON(text), scope, true)
		if err == nil {
			var s string
			if json.Unmarshal([]byte(v), &s) == nil && !strings.Contains(s, "{{") {
				out.params[p.Name] = s
				continue
			}
		}
		if p.ValueFrom.Default == nil {
			r.t.Fatalf("%s: output %s does not resolve: %v", tmpl.Name, p.Name, err)
		}
		out.params[p.Name] = p.ValueFrom.Default.String()
	}
	for _, a := range tmpl.Outputs.Artifacts {
		key := strings.TrimSuffix(strings.TrimPrefix(a.From, "{{"), "}}")
		if path, ok := scope[key].(string); ok {
			out.arts[a.Name] = path
		} else if !a.Optional {
			r.t.Fatalf("%s: output artifact %s from %q not found", tmpl.Name, a.Name, a.From)
		}
	}
	return out
}

// task runs one DAG task: skipped by its `when`, expanded over withItems/withParam, or once.
func (r *argoRun) task(task wfv1.DAGTask, node string, scope map[string]any) *runNode {
	r.t.Helper()
	if task.When != "" {
		when := replaceIn(r.t, task.When, scope, false)
		if when != "true" && when != "false" {
			r.t.Fatalf("task %s: when rendered to %q", task.Name, when)
		}
		if when == "false" {
			return &runNode{skipped: true}
		}
	}
	var items []wfv1.Item
	switch {
	case len(task.WithItems) > 0:
		items = task.WithItems
	case task.WithParam != "":
		if err := json.Unmarshal([]byte(replaceIn(r.t, task.WithParam, scope, false)), &items); err != nil {
			r.t.Fatalf("task %s: withParam: %v", task.Name, err)
		}
	default:
		return r.one(task, node, scope)
	}
	// The controller aggregates the iterations' outputs: per parameter a JSON list (of objects and lists when
	// every value is one, of strings otherwise), in iteration order (processAggregateNodeOutputs).
	lists := map[string][]string{}
	var names []string
	for i, item := range items {
		s := map[string]any{}
		for k, v := range scope {
			s[k] = v
		}
		s["item"] = item.String()
		var fields map[string]any
		if json.Unmarshal([]byte(item.String()), &fields) == nil {
			for k, v := range fields {
				if str, ok := v.(string); ok {
					s["item."+k] = str
				} else {
					s["item."+k] = mustJSON(v)
				}
			}
		}
		n := r.one(task, fmt.Sprintf("%s(%d:%s)", node, i, item.String()), s)
		if n.skipped {
			continue
		}
		for k, v := range n.params {
			if _, ok := lists[k]; !ok {
				names = append(names, k)
			}
			lists[k] = append(lists[k], v)
		}
	}
	out := &runNode{params: map[string]string{}}
	sort.Strings(names)
	for _, k := range names {
		out.params[k] = aggregate(lists[k])
	}
	return out
}

func aggregate(values []string) string {
	list := make([]any, 0, len(values))
	for _, v := range values {
		var x any
		if json.Unmarshal([]byte(v), &x) != nil {
			return mustJSON(values)
		}
		switch x.(type) {
		case map[string]any, []any:
			list = append(list, x)
		default:
			return mustJSON(values)
		}
	}
	return mustJSON(list)
}

// one runs a task once: a DAG template recursively, a container template as a pod.
func (r *argoRun) one(task wfv1.DAGTask, node string, scope map[string]any) *runNode {
	r.t.Helper()
	// Argo resolves artifact arguments by reference, not as text.
	in := task.Arguments.DeepCopy()
	artSrc := map[string]string{}
	for i := range in.Artifacts {
		a := &in.Artifacts[i]
		if a.From != "" {
			key := strings.TrimSuffix(strings.TrimPrefix(a.From, "{{"), "}}")
			if p, ok := scope[key].(string); ok {
				artSrc[a.Name] = p
			}
			a.From = ""
			a.S3 = &wfv1.S3Artifact{Key: "by-reference/" + a.Name}
		}
	}
	args := replaceIn(r.t, *in, scope, false)
	for _, a := range args.Artifacts {
		if a.S3 != nil && !strings.HasPrefix(a.S3.Key, "by-reference/") {
			artSrc[a.Name] = filepath.Join(r.dir, "store", a.S3.Key)
		}
	}
	tmpl := templateNamed(r.t, r.wf, task.Template)
	if tmpl.DAG != nil {
		local := map[string]any{}
		for _, p := range args.Parameters {
			local["inputs.parameters."+p.Name] = p.Value.String()
		}
		for _, p := range tmpl.Inputs.Parameters {
			if _, ok := local["inputs.parameters."+p.Name]; !ok && p.Default != nil {
				local["inputs.parameters."+p.Name] = p.Default.String()
			}
		}
		for n, p := range artSrc {
			local["inputs.artifacts."+n] = p
		}
		return r.dag(tmpl, node, local)
	}
	pod := podNameV2(r.name, node, tmpl.Name)
	r.podName[node] = pod
	rendered, err := common.ProcessArgs(tmpl, &args, r.g, common.Parameters{"pod.name": pod}, false, "default", nil)
	if err != nil {
		r.t.Fatalf("task %s: ProcessArgs: %v", task.Name, err)
	}
	root := r.podRootAs(pod)
	local := func(p string) string { return strings.Replace(p, podRoot, root, 1) }
	for _, a := range rendered.Inputs.Artifacts {
		src, ok := artSrc[a.Name]
		if !ok {
			if a.Optional {
				continue
			}
			r.t.Fatalf("task %s: input artifact %s has no source", task.Name, a.Name)
		}
		copyTree(r.t, src, local(a.Path))
	}
	env := append([]string{"HOSTNAME=" + hostnameOf(pod)}, r.env...)
	if code, log := runPod(r.t, rendered.Container, root, env...); code != 0 {
		r.t.Errorf("task %s (pod %s): exit %d:\n%s", task.Name, pod, code, log)
		return &runNode{failed: true}
	}
	out := &runNode{params: map[string]string{}, arts: map[string]string{}}
	for _, p := range rendered.Outputs.Parameters {
		data, err := os.ReadFile(local(p.ValueFrom.Path))
		switch {
		case err == nil:
			// argoexec's SaveParameters: "Trims off a single newline for user convenience".
			out.params[p.Name] = strings.TrimSuffix(string(data), "\n")
		case p.ValueFrom.Default != nil:
			out.params[p.Name] = p.ValueFrom.Default.String()
		default:
			r.t.Fatalf("task %s: output parameter %s: %v", task.Name, p.Name, err)
		}
	}
	for _, a := range rendered.Outputs.Artifacts {
		src := local(a.Path)
		if _, err := os.Stat(src); err != nil {
			if a.Optional {
				continue
			}
			// argoexec fails the node when a required output artifact is missing.
			r.t.Errorf("task %s (pod %s): output artifact %s: %v", task.Name, pod, a.Name, err)
			return &runNode{failed: true}
		}
		if fi, err := os.Lstat(src); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			// argoexec uploads what is at the path; a link into another folder of the pod is not the data.
			r.t.Errorf("task %s (pod %s): output artifact %s is a symbolic link", task.Name, pod, a.Name)
			return &runNode{failed: true}
		}
		dst := filepath.Join(r.dir, "store", "pods", pod, a.Name)
		if a.S3 != nil && a.S3.Key != "" {
			dst = filepath.Join(r.dir, "store", a.S3.Key)
		}
		copyTree(r.t, src, dst)
		out.arts[a.Name] = dst
	}
	return out
}

// podNameV2 is Argo's pod name (workflow/util.GeneratePodName, POD_NAMES=v2), which this module cannot import
// (that package pulls in Argo's server): workflow and template name cut to 242 characters, and the FNV-32a hash of
// the node name.
func podNameV2(workflow, node, tmpl string) string {
	prefix := workflow + "-" + tmpl
	if len(prefix) > 242 {
		prefix = prefix[:242]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(node))
	return fmt.Sprintf("%s-%v", prefix, h.Sum32())
}

// hostnameOf is the hostname the kubelet gives a pod: its name cut to 63 characters.
func hostnameOf(pod string) string {
	if len(pod) > 63 {
		return pod[:63]
	}
	return pod
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s -> %s: %v", src, dst, err)
	}
}

// kfpSDKDir is KFP's Python SDK source, shared beside the repository (not copied into it): the runtime tests
// import KFP's real executor (kfp.dsl.executor_main) from it.
const kfpSDKDir = "../../shared/kfp-sdk"

// kfpSDK returns the PYTHONPATH entry for KFP's real executor, skipping the test when the SDK is not there.
func kfpSDK(t *testing.T) string {
	t.Helper()
	needTool(t, "python3")
	dir, err := filepath.Abs(kfpSDKDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kfp", "dsl", "executor_main.py")); err != nil {
		t.Skipf("KFP SDK not found at %s (it lives in ../shared/kfp-sdk beside the repository): %v", kfpSDKDir, err)
	}
	return "PYTHONPATH=" + dir
}
