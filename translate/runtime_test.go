package translate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	apiv1 "k8s.io/api/core/v1"

	"github.com/kfp-argo/kfp-argo/argo"
)

// The tests in this file render compiled templates the way Argo's controller does (workflow/common.ProcessArgs
// and util/template, the real code) and run the pod side (the wrapper and launcher, with the machine's python3
// and sh) against stand-in components, checking the runtime contract end to end without a cluster.

const wfName = "python-io-x7k2p"

var tricky = []string{
	`it's "quoted"`,
	"two\nlines\tand a tab",
	"unicode: héllo ✓ 日本",
	"{{workflow.name}}",
	"{{=1+1}}",
	"{{inputs.parameters.message}} and %%kfpb64:AA==%%",
	"",
	// The kubelet's expansion of command items and env values: "$$" and names the container defines.
	"cost $$5; $(KFP_ARGO_POD) $(KFP_ARGO_CONTRACT) $(HOSTNAME) $(",
}

func compileFixture(t *testing.T, name string, opts Options) *wfv1.Workflow {
	t.Helper()
	p, err := LoadFile(filepath.Join("..", "testdata", "pipelines", name))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

func templateNamed(t *testing.T, wf *wfv1.Workflow, name string) *wfv1.Template {
	t.Helper()
	for i := range wf.Spec.Templates {
		if wf.Spec.Templates[i].Name == name {
			return &wf.Spec.Templates[i]
		}
	}
	t.Fatalf("no template %q", name)
	return nil
}

func dagTask(t *testing.T, wf *wfv1.Workflow, name string) wfv1.DAGTask {
	t.Helper()
	for _, task := range templateNamed(t, wf, wf.Spec.Entrypoint).DAG.Tasks {
		if task.Name == name {
			return task
		}
	}
	t.Fatalf("no DAG task %q", name)
	return wfv1.DAGTask{}
}

// globals are the workflow-scope variables Argo offers, with the workflow's argument values.
func globals(wf *wfv1.Workflow, overrides map[string]string) common.Parameters {
	g := common.Parameters{"workflow.name": wfName, "workflow.uid": "0b1c2d3e", "workflow.namespace": "default"}
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value != nil {
			g["workflow.parameters."+p.Name] = p.Value.String()
		}
	}
	for k, v := range overrides {
		g["workflow.parameters."+k] = v
	}
	return g
}

// replaceIn substitutes Argo variables in v the way the controller does: over v's JSON, so values are quoted for
// JSON, with Argo's own template engine. allowUnresolved leaves unknown tags, as for exit hook arguments.
func replaceIn[T any](t *testing.T, v T, scope map[string]any, allowUnresolved bool) T {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := template.Replace(string(raw), scope, allowUnresolved)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var res T
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// renderTask resolves a DAG task's arguments in the DAG scope (as Argo's dag.go does with template.Replace) and
// then the task's template with them (common.ProcessArgs: globals over the whole template, then inputs).
func renderTask(t *testing.T, wf *wfv1.Workflow, task wfv1.DAGTask, g common.Parameters, taskOutputs map[string]string) *wfv1.Template {
	t.Helper()
	scope := map[string]any{}
	for k, v := range g {
		scope[k] = v
	}
	for k, v := range taskOutputs {
		scope[k] = v
	}
	// Argo resolves artifact references itself, not by text: stand in a repository location for each.
	in := task.Arguments.DeepCopy()
	for i := range in.Artifacts {
		if in.Artifacts[i].From != "" {
			in.Artifacts[i].From = ""
			in.Artifacts[i].S3 = &wfv1.S3Artifact{Key: "artifacts/" + in.Artifacts[i].Name}
		}
	}
	args := replaceIn(t, *in, scope, false)
	tmpl, err := common.ProcessArgs(templateNamed(t, wf, task.Template), &args, g, common.Parameters{"pod.name": "pod-" + task.Name}, false, "default", nil)
	if err != nil {
		t.Fatalf("ProcessArgs: %v", err)
	}
	return tmpl
}

// runPod runs a rendered container's command with its environment, paths moved from /tmp/kfp into dir, as the
// kubelet starts it.
func runPod(t *testing.T, ctr *apiv1.Container, dir string, extraEnv ...string) (int, string) {
	t.Helper()
	blob, err := json.Marshal(ctr)
	if err != nil {
		t.Fatal(err)
	}
	var moved apiv1.Container
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(blob), podRoot, dir)), &moved); err != nil {
		t.Fatal(err)
	}
	// The kubelet expands each env value with the variables defined before it, then command and args with all.
	defined := map[string]string{}
	lookup := func(name string) (string, bool) { v, ok := defined[name]; return v, ok }
	var env []string
	for _, e := range moved.Env {
		defined[e.Name] = kubeletExpand(e.Value, lookup)
		env = append(env, e.Name+"="+defined[e.Name])
	}
	var argv []string
	for _, item := range append(append([]string(nil), moved.Command...), moved.Args...) {
		argv = append(argv, kubeletExpand(item, lookup))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOSTNAME=pod-test"}, extraEnv...), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not on this machine: %v", name, err)
	}
}

type standinRecord struct {
	Argv          []string       `json:"argv"`
	ExecutorInput map[string]any `json:"executor_input"`
}

func readRecord(t *testing.T, path string) standinRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r standinRecord
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPythonContract: typed ExecutorInput from values with quotes, newlines, unicode, braces, a large int and
// nested JSON; outputs split into the files Argo reads; producer and consumer paths line up.
func TestPythonContract(t *testing.T) {
	needTool(t, "python3")
	for _, msg := range tricky {
		t.Run(strings.ReplaceAll(msg, "\n", `\n`), func(t *testing.T) {
			wf := compileFixture(t, "python-io.yaml", Options{Parameters: map[string]any{"message": msg}})
			g := globals(wf, nil)
			dir := t.TempDir()
			record := filepath.Join(dir, "record.json")

			produce := renderTask(t, wf, dagTask(t, wf, "produce"), g, nil)
			if code, out := runPod(t, produce.Container, dir, "STANDIN_RECORD="+record); code != 0 {
				t.Fatalf("wrapper exit %d: %s", code, out)
			}
			rec := readRecord(t, record)
			i := indexOf(rec.Argv, "--executor_input")
			if i < 0 || !json.Valid([]byte(rec.Argv[i+1])) {
				t.Fatalf("{{$}} argument is not JSON: %q", rec.Argv)
			}
			var ei struct {
				Inputs struct {
					ParameterValues map[string]json.RawMessage `json:"parameterValues"`
				} `json:"inputs"`
			}
			if err := json.Unmarshal([]byte(rec.Argv[i+1]), &ei); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"message": mustJSON(msg),
				"count":   "9007199254740993",
				"ratio":   "0.5",
				"flag":    "true",
				"items":   "[1, 2, 3]",
				"config":  `{"nested": {"a": [1, "x"]}}`,
				"suffix":  mustJSON("literal {{workflow.name}} and {{=1+1}}"),
				"retries": "3",
			}
			for k, v := range want {
				if got := string(ei.Inputs.ParameterValues[k]); got != v {
					t.Errorf("parameterValues[%s] = %s, want %s", k, got, v)
				}
			}
			if _, ok := ei.Inputs.ParameterValues["note"]; ok {
				t.Errorf("optional input without value reached the component: %s", ei.Inputs.ParameterValues["note"])
			}

			// Outputs: what the wrapper wrote where the template says Argo reads.
			outputs := map[string]string{}
			for _, p := range produce.Outputs.Parameters {
				data, err := os.ReadFile(strings.Replace(p.ValueFrom.Path, podRoot, dir, 1))
				if err != nil {
					t.Fatalf("output %s: %v", p.Name, err)
				}
				outputs["tasks.produce.outputs.parameters."+p.Name] = string(data)
			}
			if got := outputs["tasks.produce.outputs.parameters.Output"]; got != "9007199254740994" {
				t.Errorf("Output = %q, want the integer 9007199254740994", got)
			}
			if got, _ := DecodeValue(outputs["tasks.produce.outputs.parameters.echo"]); got != msg {
				t.Errorf("echo decodes to %q, want %q", got, msg)
			}
			var meta map[string]any
			if err := json.Unmarshal([]byte(outputs["tasks.produce.outputs.parameters."+MetadataParameterPrefix+"metrics"]), &meta); err != nil {
				t.Fatal(err)
			}
			if m, _ := meta["metadata"].(map[string]any); m["accuracy"] != 0.9 || meta["producer"] != "pod-produce" || meta["schemaTitle"] != "system.Metrics" {
				t.Errorf("metrics metadata document = %v", meta)
			}
			for _, a := range produce.Outputs.Artifacts {
				if _, err := os.Stat(strings.Replace(a.Path, podRoot, dir, 1)); err != nil {
					t.Errorf("output artifact %s: %v", a.Name, err)
				}
			}

			// The consumer receives the producer's values through Argo, and its artifact where it reads it.
			consume := renderTask(t, wf, dagTask(t, wf, "consume"), g, outputs)
			if got := consume.Inputs.Artifacts[0].Path; got != inArtifact("data") {
				t.Errorf("consumer artifact path %q", got)
			}
			if code, out := runPod(t, consume.Container, dir, "STANDIN_RECORD="+record); code != 0 {
				t.Fatalf("consumer wrapper exit %d: %s", code, out)
			}
			rec = readRecord(t, record)
			inputs := rec.ExecutorInput["inputs"].(map[string]any)
			pv := inputs["parameterValues"].(map[string]any)
			if pv["text"] != msg || pv["total"] != 9007199254740994.0 {
				t.Errorf("consumer parameterValues = %v", pv)
			}
			art := inputs["artifacts"].(map[string]any)["data"].(map[string]any)["artifacts"].([]any)[0].(map[string]any)
			if art["uri"] != strings.Replace(inArtifact("data"), podRoot, dir, 1) {
				t.Errorf("consumer artifact uri %v", art["uri"])
			}
			if m := art["metadata"].(map[string]any); m["rows"] != 9007199254740993.0 {
				t.Errorf("consumer artifact metadata %v", m)
			}
		})
	}
}

// TestPythonContractExitCode: a failing component's exit code is the pod's, and no outputs are written.
func TestPythonContractExitCode(t *testing.T) {
	needTool(t, "python3")
	wf := compileFixture(t, "python-io.yaml", Options{})
	dir := t.TempDir()
	produce := renderTask(t, wf, dagTask(t, wf, "produce"), globals(wf, nil), nil)
	code, _ := runPod(t, produce.Container, dir, "STANDIN_RECORD="+filepath.Join(dir, "r.json"), "STANDIN_EXIT=3")
	if code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	if _, err := os.Stat(strings.Replace(paramFile("Output"), podRoot, dir, 1)); err == nil {
		t.Error("an output file was written after a failure")
	}
}

// kubeletExpand applies to s what the kubelet does to every command and args item and env value before the
// container starts (Kubernetes' "third_party/forked/golang/expansion", as documented for Container.command):
// "$$" becomes "$", and "$(NAME)" becomes NAME's value where defined reports one, else stays as it is.
func kubeletExpand(s string, defined func(name string) (string, bool)) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			out.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				out.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := defined(name); ok {
				out.WriteString(v)
			} else {
				out.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			out.WriteByte('$')
		}
	}
	return out.String()
}

// TestUserTextIsNotEvaluated: braces in pipeline parameter values (-p at compile time and at submit time), in
// constants and in component text reach the container verbatim after Argo rendered everything.
func TestUserTextIsNotEvaluated(t *testing.T) {
	needTool(t, "sh")
	needTool(t, "base64")
	for _, text := range tricky {
		// The name is the temporary folder's, which is in the command; a "$" there would be the kubelet's.
		t.Run(strings.NewReplacer("\n", `\n`, "$", "S").Replace(text), func(t *testing.T) {
			wf := compileFixture(t, "container-io.yaml", Options{Parameters: map[string]any{"text": text}})
			dir := t.TempDir()
			write := renderTask(t, wf, dagTask(t, wf, "write"), globals(wf, nil), nil)
			if code, out := runPod(t, write.Container, dir); code != 0 {
				t.Fatalf("launcher exit %d: %s", code, out)
			}
			data, err := os.ReadFile(filepath.Join(dir, "artifacts/out/out_data/out_data"))
			if err != nil {
				t.Fatal(err)
			}
			want := text + " / " + filepath.Join(dir, "artifacts/out/out_data/out_data")
			if string(data) != want {
				t.Errorf("component got %q, want %q", data, want)
			}
		})
	}
	// A value given at submit time (argo submit -p text=...) is encoded by kfp-argo submit; one given raw to
	// Argo is Argo's to evaluate, which is why compile and submit encode.
	wf := compileFixture(t, "container-io.yaml", Options{})
	dir := t.TempDir()
	write2 := renderTask(t, wf, dagTask(t, wf, "write-2"), globals(wf, map[string]string{"text": inert("{{workflow.name}}")}), nil)
	if code, out := runPod(t, write2.Container, dir); code != 0 {
		t.Fatalf("launcher exit %d: %s", code, out)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "artifacts/out/out_data/out_data"))
	if !strings.HasPrefix(string(data), "braces {{stay}} as they are / ") {
		t.Errorf("constant arrived as %q", data)
	}
}

// TestIfPresentAndRunPlaceholders: IfPresent resolves per task; run placeholders become Argo variables.
func TestIfPresentAndRunPlaceholders(t *testing.T) {
	wf := compileFixture(t, "container-io.yaml", Options{})
	g := globals(wf, nil)
	w1 := renderTask(t, wf, dagTask(t, wf, "write"), g, nil)
	w2 := renderTask(t, wf, dagTask(t, wf, "write-2"), g, nil)
	if tail := w1.Container.Args[len(w1.Container.Args)-1]; tail != "--no-prefix" {
		t.Errorf("write (no prefix): last arg %q", tail)
	}
	if got := w2.Container.Args[len(w2.Container.Args)-2:]; got[0] != "--prefix" || got[1] != ">> " {
		t.Errorf("write-2 (prefix): %q", got)
	}
	read := renderTask(t, wf, dagTask(t, wf, "read"), g, map[string]string{
		"tasks.write.outputs.parameters.length":                                  "11",
		"tasks.write.outputs.parameters." + MetadataParameterPrefix + "out_data": `{"metadata":{},"producer":"p"}`,
	})
	if got := read.Container.Args[len(read.Container.Args)-1]; got != "length=11 job="+wfName+"/read" {
		t.Errorf("read args end with %q", got)
	}
	if got := envValue(read.Container.Env, "GREETING"); got == "hello {{world}}" || decodeInert(got) != "hello {{world}}" {
		t.Errorf("GREETING travels as %q", got)
	}
}

// TestMemoizeKey: Argo renders the cache key to a sha256 that changes with every input value.
func TestMemoizeKey(t *testing.T) {
	keys := map[string]bool{}
	for _, msg := range []string{"a", "b", "{{workflow.name}}"} {
		wf := compileFixture(t, "python-io.yaml", Options{Parameters: map[string]any{"message": msg}})
		tmpl := renderTask(t, wf, dagTask(t, wf, "produce"), globals(wf, nil), nil)
		if tmpl.Memoize == nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tmpl.Memoize.Key) {
			t.Fatalf("memoize key rendered to %+v", tmpl.Memoize)
		}
		keys[tmpl.Memoize.Key] = true
	}
	if len(keys) != 3 {
		t.Errorf("cache keys do not follow the inputs: %v", keys)
	}
	wf := compileFixture(t, "python-io.yaml", Options{NoCache: true})
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Memoize != nil {
			t.Errorf("--no-cache left memoize on %s", tmpl.Name)
		}
	}
}

func TestRuntimeScriptsHaveNoArgoTags(t *testing.T) {
	for name, s := range map[string]string{"launcher": launcherScript, "wrapper": wrapperScript, "wrapper program": wrapperProgram, "wrapper with artifacts": wrapperArtifactsScript, "its program": wrapperArtifactsProgram} {
		if strings.Contains(s, "{{") {
			t.Errorf("%s script contains {{, which Argo would evaluate", name)
		}
	}
}

func envValue(env []apiv1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
