package translate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kfp-argo/kfp-argo/argo"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	apiv1 "k8s.io/api/core/v1"
)

// The tests in this file run lightweight components with KFP's real executor (kfp.dsl.executor_main from the
// SDK beside the repository), in pods whose names are longer than the 63 characters of a hostname.

// TestKFPExecutorCollected: dsl.Collected of datasets and of integers through the real executor.
func TestKFPExecutorCollected(t *testing.T) {
	sdk := kfpSDK(t)
	wf := compileFixture(t, "kfp-executor-collected.yaml", Options{})
	r := newArgoRun(t, wf, sdk)
	out := r.run()
	long := false
	for _, pod := range r.podName {
		long = long || len(pod) > 63
	}
	if !long {
		t.Fatalf("no pod name exceeds 63 characters: %v", r.podName)
	}
	t.Run("collected datasets (pod names > 63 characters)", func(t *testing.T) {
		r.expect(t, "join-datasets", "Output", "1:1,2:2,3:3")
	})
	t.Run("collected integers", func(t *testing.T) {
		r.expect(t, "sum-values", "Output", "12")
	})
	t.Run("collected list pipeline output is typed", func(t *testing.T) {
		if got := out.params["doubled"]; got != "[2,4,6]" {
			t.Errorf("pipeline output doubled = %s, want [2,4,6]", got)
		}
	})
}

// expect reports a task output (decoded) other than want.
func (r *argoRun) expect(t *testing.T, task, name, want string) {
	t.Helper()
	if got := r.param(t, task, name); got != want {
		t.Errorf("%s output %s = %q, want %q", task, name, got, want)
	}
}

func (r *argoRun) param(t *testing.T, task, name string) string {
	t.Helper()
	n := r.nodes[r.name+"."+task]
	if n == nil || n.failed || n.skipped {
		t.Fatalf("task %s did not succeed", task)
	}
	v, ok := DecodeValue(n.params[name])
	if !ok {
		t.Fatalf("task %s: output %s not given", task, name)
	}
	return v
}

// TestKFPExecutorContract: what the real executor does with custom paths, BOOLEAN and string outputs, pythonic
// artifacts and artifact URIs arrives intact at the next task, through Argo's handling of values.
func TestKFPExecutorContract(t *testing.T) {
	sdk := kfpSDK(t)
	needTool(t, "base64")
	wf := compileFixture(t, "kfp-executor-contract.yaml", Options{})
	r := newArgoRun(t, wf, sdk)
	r.run()
	t.Run("custom path", func(t *testing.T) {
		r.expect(t, "read-custom-path", "Output", "Hello, World!")
	})
	t.Run("BOOLEAN written as True", func(t *testing.T) {
		for _, task := range []string{"flag-file", "flag-container"} {
			if got := r.nodes[r.name+"."+task].params["flag"]; got != "true" {
				t.Errorf("%s: flag travels as %q, want the canonical true", task, got)
			}
		}
		for _, task := range []string{"condition-1", "condition-2"} {
			if n := r.nodes[r.name+"."+task]; n == nil || n.skipped {
				t.Errorf("%s was skipped: the branch of a true flag must run", task)
			}
		}
	})
	t.Run("trailing newline", func(t *testing.T) {
		r.expect(t, "echo-newline", "Output", "ends with a newline\n")
	})
	t.Run("container output that looks inert", func(t *testing.T) {
		r.expect(t, "echo-marker", "Output", "%%kfpb64:aGk=%%")
	})
	t.Run("typed values", func(t *testing.T) {
		for name, want := range map[string]string{
			"i": "9007199254740993", "f": "0.5", "b": "false", "l": `[1,"x {{braces}}"]`, "d": `{"a":{"b":null}}`,
			"types": "int float bool list dict",
		} {
			if got := r.param(t, "typed-values", name); got != want {
				t.Errorf("typed-values %s = %s, want %s", name, got, want)
			}
		}
	})
	t.Run("input returned as output", func(t *testing.T) {
		r.expect(t, "read-pass-through", "Output", "Hello, World!")
	})
	t.Run("pythonic artifact output", func(t *testing.T) {
		r.expect(t, "read-pythonic", "Output", "pythonic")
	})
	t.Run("values the kubelet would expand", func(t *testing.T) {
		const want = "cost $$5; $(KFP_ARGO_POD) $(HOSTNAME) ends in $"
		r.expect(t, "dollar-container", "text", want)
		r.expect(t, "echo-dollar", "Output", want)
		r.expect(t, "read-dollar", "text", want)
	})
}

// TestKFPExecutorURIs: with the repository known (--artifact-store), components see each artifact's real URI,
// the repository's bucket and the key Argo uploads to, and KFP's executor reads and writes .path under its local
// mount of that URI (/s3/BUCKET/KEY), which the wrapper links to the files Argo downloads and uploads. The test
// writes under /s3 and /minio on this machine, as a pod does (in a bucket of its own, removed afterwards).
func TestKFPExecutorURIs(t *testing.T) {
	sdk := kfpSDK(t)
	bucket := fmt.Sprintf("kfp-argo-test-%d", time.Now().UnixNano())
	for _, root := range []string{"/s3", "/minio"} {
		mount := filepath.Join(root, bucket)
		if err := os.MkdirAll(mount, 0o755); err != nil {
			t.Skipf("KFP's executor reads remote URIs under %s, which this machine does not let the test write: %v", root, err)
		}
		t.Cleanup(func() {
			os.RemoveAll(mount)
			os.Remove(root) // only when empty
		})
	}
	wf := compileFixture(t, "kfp-executor-contract.yaml", Options{ArtifactStore: "s3://" + bucket})
	r := newArgoRun(t, wf, sdk)
	r.run()
	uid := r.g["workflow.uid"]
	producer := r.podName[r.name+".custom-path"]
	consumer := r.podName[r.name+".report-uris"]
	if got, want := r.param(t, "report-uris", "in_uri"), "s3://"+bucket+"/kfp-argo/"+uid+"/"+producer+"/out_dataset"; got != want {
		t.Errorf("input artifact uri %q, want %q", got, want)
	}
	if got, want := r.param(t, "report-uris", "out_uri"), "s3://"+bucket+"/kfp-argo/"+uid+"/"+consumer+"/copy"; got != want {
		t.Errorf("output artifact uri %q, want %q", got, want)
	}
	if got := r.param(t, "read-pass-through", "Output"); got != "Hello, World!" {
		t.Errorf("an input returned as output arrived as %q", got)
	}
	// A container component's .uri placeholders: the same URIs, rendered by Argo.
	pod := r.podName[r.name+".container-uris"]
	if got, want := r.param(t, "container-uris", "uris"), "s3://"+bucket+"/kfp-argo/"+uid+"/"+producer+"/out_dataset s3://"+bucket+"/kfp-argo/"+uid+"/"+pod+"/out"; got != want {
		t.Errorf("container .uri placeholders: %q, want %q", got, want)
	}
	// Argo uploads the output to the key its URI names, with the data the component wrote at its .path.
	tmpl := templateNamed(t, wf, dagTask(t, wf, "report-uris").Template)
	for _, a := range tmpl.Outputs.Artifacts {
		if a.Name == "copy" && (a.S3 == nil || a.S3.Key != "kfp-argo/{{workflow.uid}}/{{pod.name}}/copy") {
			t.Errorf("output copy goes to %+v", a.ArtifactLocation)
		}
	}
	if data, err := os.ReadFile(r.nodes[r.name+".report-uris"].arts["copy"]); err != nil || string(data) != "Hello, World!" {
		t.Errorf("uploaded copy: %q, %v", data, err)
	}

	// Collected artifacts: each item's URI is its producer's key; the executor reads them through the links.
	wf = compileFixture(t, "kfp-executor-collected.yaml", Options{ArtifactStore: "minio://" + bucket})
	r = newArgoRun(t, wf, sdk)
	r.run()
	if got := r.param(t, "join-datasets", "Output"); got != "1:1,2:2,3:3" {
		t.Errorf("join-datasets returned %q, want 1:1,2:2,3:3", got)
	}
}

// TestContainerInputURI: a container's .uri of an input is the URI its metadata document names, also when the
// document travels inert, and the local path when it names none.
func TestContainerInputURI(t *testing.T) {
	wf := compileFixture(t, "kfp-executor-contract.yaml", Options{})
	task := dagTask(t, wf, "container-uris")
	key := "tasks.custom-path.outputs.parameters." + MetadataParameterPrefix + "out_dataset"
	for doc, want := range map[string]string{
		`{"metadata":{},"producer":"p","uri":"s3://b/k"}`:                      "s3://b/k",
		inert(`{"metadata":{"note":"{{x}}"},"producer":"p","uri":"gs://b/k"}`): "gs://b/k",
		`{"metadata":{},"producer":"p","uri":""}`:                              inArtifact("data"),
		`{"metadata":{}}`: inArtifact("data"),
	} {
		tmpl := renderTask(t, wf, task, globals(wf, nil), map[string]string{key: doc})
		if got := tmpl.Container.Command[len(tmpl.Container.Command)-5]; got != want {
			t.Errorf("document %s: .uri = %q, want %q", doc, got, want)
		}
	}
}

// TestArtifactListOutputRejected: an executor that returns a list of artifacts cannot run (Argo uploads one
// artifact per output path): it is a compile-time error naming the IR path, not a manifest that fails later.
func TestArtifactListOutputRejected(t *testing.T) {
	p, err := LoadFile("../testdata/pipelines/kfp-executor-contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Components["comp-make-pythonic"].OutputDefinitions.Artifacts["Output"].IsArtifactList = true
	_, err = Compile(p, Options{})
	if err == nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `components["comp-make-pythonic"].outputDefinitions.artifacts["Output"].isArtifactList`) {
		t.Errorf("error %v, want unsupported with the IR path", err)
	}
}

// TestLauncherChildExitAndSignals: a container component with output parameters runs as the launcher's child:
// its exit code is the pod's, a SIGTERM to the launcher (what the kubelet sends) reaches it, and nothing is
// rewritten after a failure.
func TestLauncherChildExitAndSignals(t *testing.T) {
	needTool(t, "sh")
	wf := compileFixture(t, "kfp-executor-contract.yaml", Options{})
	tmpl := renderTask(t, wf, dagTask(t, wf, "flag-container"), globals(wf, nil), nil)
	cmd := tmpl.Container.Command
	i := indexOf(cmd, "kfp-argo")
	if i < 0 || envValue(tmpl.Container.Env, "KFP_ARGO_OUT_PARAMS") == "" {
		t.Fatalf("not run by the launcher with output parameters: %q", cmd)
	}
	withChild := func(script string) *apiv1.Container {
		c := tmpl.Container.DeepCopy()
		c.Command = append(append([]string(nil), cmd[:i+1]...), "sh", "-c", script)
		return c
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "parameters", "flag")
	code, log := runPod(t, withChild(`echo True > `+paramFile("flag")+`; exit 7`), dir)
	if code != 7 {
		t.Fatalf("exit code %d, want 7: %s", code, log)
	}
	if data, _ := os.ReadFile(out); string(data) != "True\n" {
		t.Errorf("the output was rewritten after a failure: %q", data)
	}

	// SIGTERM: the child traps it and exits 42 once it has said it is ready.
	blob, _ := json.Marshal(withChild(`trap 'exit 42' TERM; echo ready; while :; do sleep 1 & wait $!; done`))
	var moved apiv1.Container
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(blob), podRoot, dir)), &moved); err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string(nil), moved.Command...), moved.Args...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range moved.Env {
		c.Env = append(c.Env, e.Name+"="+e.Value)
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Errorf("after SIGTERM: %v, want exit 42 from the child's trap", err)
	}
}

// TestContainerOutputsAsKFPReadsThem: the launcher reads a container's output files as KFP's launcher does
// (TextToPbValue): STRING exactly, trailing newline included (inert, since argoexec trims it); other types with
// surrounding whitespace trimmed, so `echo 7` is the integer 7.
func TestContainerOutputsAsKFPReadsThem(t *testing.T) {
	needTool(t, "sh")
	needTool(t, "base64")
	wf := compileFixture(t, "control-flow.yaml", Options{})
	for task, want := range map[string]string{"flip": "%%kfpb64:aGVhZHMK%%", "number": "7"} {
		dir := t.TempDir()
		tmpl := renderTask(t, wf, dagTask(t, wf, task), globals(wf, nil), nil)
		if code, log := runPod(t, tmpl.Container, dir); code != 0 {
			t.Fatalf("%s: exit %d: %s", task, code, log)
		}
		data, err := os.ReadFile(filepath.Join(dir, "parameters", "Output"))
		if err != nil || string(data) != want {
			t.Errorf("%s: output file %q (%v), want %q", task, data, err, want)
		}
	}
}

// kfpCorpusRuns are corpus pipelines that exposed runtime-contract bugs (issue #11), run end to end with KFP's real
// executor. Their components first `pip install kfp==VERSION --no-deps`; the test image stands for one that has
// kfp installed: a dist-info for that version next to the SDK source makes pip find it without a network, and the
// SDK source beside the repository is what runs.
var kfpCorpusRuns = []struct {
	file   string
	params map[string]any
	long   bool // dozens of pods (about 1.5 s each): skipped with -short
	// want: task -> output -> value as Argo holds it
	want map[string]map[string]string
}{
	{file: "valid/collected_artifacts.yaml", long: true},
	{file: "valid/critical/pipeline_with_artifact_custom_path.yaml", want: map[string]map[string]string{"validate-input-artifact": {"Output": "true"}}},
	{file: "valid/critical/pythonic_artifacts_test_pipeline.yaml"},
	{file: "valid/pythonic_artifacts_with_list_of_artifacts.yaml"},
	{file: "valid/pythonic_artifacts_with_multiple_returns.yaml"},
	{file: "valid/pipeline_with_parallelfor_list_artifacts_GH-12033.yaml", long: true},
	// Writes a BOOLEAN OutputPath as str(True).
	{file: "valid/preprocess.yaml", params: map[string]any{"message": "hello\n", "input_dict_parameter": `{"a": 1}`, "input_list_parameter": `["x", 2]`},
		want: map[string]map[string]string{"preprocess": {"output_bool_parameter_path": "true", "output_list_parameter_path": `["x",2]`}}},
}

func TestKFPExecutorCorpus(t *testing.T) {
	sdk := kfpSDK(t)
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not found at %s (it lives in ../shared/kfp-ir beside the repository): %v", corpusDir, err)
	}
	pin := regexp.MustCompile(`kfp==([0-9][0-9.]*)`)
	for _, run := range kfpCorpusRuns {
		t.Run(run.file, func(t *testing.T) {
			if run.long && testing.Short() {
				t.Skip("dozens of pods: skipped with -short")
			}
			path := filepath.Join(corpusDir, run.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			site := t.TempDir()
			for _, m := range pin.FindAllStringSubmatch(string(raw), -1) {
				dist := filepath.Join(site, "kfp-"+m[1]+".dist-info")
				if err := os.MkdirAll(dist, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dist, "METADATA"), []byte("Metadata-Version: 2.1\nName: kfp\nVersion: "+m[1]+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := LoadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := Compile(p, Options{Parameters: run.params})
			if err != nil {
				t.Fatal(err)
			}
			if err := argo.ValidateWorkflow(wf); err != nil {
				t.Fatal(err)
			}
			r := newArgoRun(t, wf, sdk+":"+site, "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_ROOT_USER_ACTION=ignore")
			r.run()
			ran := 0
			for _, n := range r.nodes {
				if n.failed {
					t.Errorf("a task failed")
				}
				if !n.skipped {
					ran++
				}
			}
			for task, outs := range run.want {
				for name, want := range outs {
					if n := r.nodes[r.name+"."+task]; n == nil || n.params[name] != want {
						t.Errorf("%s output %s: %+v, want %q", task, name, n, want)
					}
				}
			}
			t.Logf("%d tasks ran, pods: %d", ran, len(r.podName))
		})
	}
}

// TestKFPExecutorTrickyValues: a pipeline parameter with quotes, newlines, unicode, braces or the inert marker
// reaches KFP's executor verbatim, and its STRING return value, read back as argoexec reads it, decodes to the
// same text.
func TestKFPExecutorTrickyValues(t *testing.T) {
	sdk := kfpSDK(t)
	for _, msg := range append(append([]string(nil), tricky...), "ends with a newline\n", "%%kfpb64:aGk=%%") {
		wf := compileFixture(t, "kfp-executor-contract.yaml", Options{Parameters: map[string]any{"message": msg}})
		dir := t.TempDir()
		tmpl := renderTask(t, wf, dagTask(t, wf, "echo-message"), globals(wf, nil), nil)
		if code, log := runPod(t, tmpl.Container, dir, sdk); code != 0 {
			t.Fatalf("%q: exit %d: %s", msg, code, log)
		}
		data, err := os.ReadFile(filepath.Join(dir, "parameters", "Output"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := DecodeValue(strings.TrimSuffix(string(data), "\n")); got != msg {
			t.Errorf("%q came back as %q", msg, got)
		}
	}
}

// TestKFPExecutorEnvWithBraces: an environment variable of a Python component whose value holds "{{" travels
// inert past Argo, and the component, run by KFP's executor, reads the text it was given.
func TestKFPExecutorEnvWithBraces(t *testing.T) {
	sdk := kfpSDK(t)
	p, err := LoadFile(filepath.Join("..", "testdata", "pipelines", "kfp-executor-contract.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctr := p.Spec.DeploymentSpec.Executors["exec-echo-text"].Container
	ctr.Env = append(ctr.Env, EnvVar{Name: "GREETING", Value: "hello {{world}}"})
	for i, a := range ctr.Command {
		ctr.Command[i] = strings.ReplaceAll(a, "    return text\n", "    import os\n    return os.environ['GREETING']\n")
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tmpl := renderTask(t, wf, dagTask(t, wf, "echo-message"), globals(wf, nil), nil)
	if got := envValue(tmpl.Container.Env, "GREETING"); strings.Contains(got, "{{") {
		t.Fatalf("GREETING reaches Argo as %q", got)
	}
	if code, log := runPod(t, tmpl.Container, dir, sdk); code != 0 {
		t.Fatalf("exit %d: %s", code, log)
	}
	data, err := os.ReadFile(filepath.Join(dir, "parameters", "Output"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := DecodeValue(strings.TrimSuffix(string(data), "\n")); got != "hello {{world}}" {
		t.Errorf("the component read GREETING as %q (file %q)", got, data)
	}
}
