package translate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
)

// Tests of issue #12, items 7-10: user text never reaches Argo as template text.

// TestBraceSeams: a Concat of literal pieces that together form "{{", and a "{" right before a placeholder
// (the SDK's f"{{{x}}}"), reach the component as written, rendered by Argo's code and run by the launcher.
func TestBraceSeams(t *testing.T) {
	src := strings.Replace(minimal,
		`command: [echo, "{{$.inputs.parameters['lr']}}", "{{$.outputs.parameters['out'].output_file}}"]`,
		`command: [sh, -c, 'printf "%s|%s" "$0" "$1" > "$2"', '{"Concat": ["{", "{workflow.uid}}"]}', "{{{$.inputs.parameters['lr']}}}", "{{$.outputs.parameters['out'].output_file}}"]`, 1)
	wf := compileText(t, src, Options{})
	dir := t.TempDir()
	tmpl := renderTask(t, wf, dagTask(t, wf, "train"), globals(wf, nil), nil)
	if code, log := runPod(t, tmpl.Container, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, log)
	}
	data, err := os.ReadFile(filepath.Join(dir, "parameters", "out"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := decodeInert(string(data)), "{{workflow.uid}}|{0.1}"; got != want {
		t.Errorf("the component got %q, want %q", got, want)
	}
}

var withArtifactInput = strings.Replace(minimal, "  inputDefinitions:\n    parameters:\n      lr:", "  inputDefinitions:\n    artifacts:\n      data: {artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}}\n    parameters:\n      lr:", 1)

// compileText compiles a pipeline given as text and checks the result with Argo's validator.
func compileText(t *testing.T, src string, opts Options) *wfv1.Workflow {
	t.Helper()
	p, err := Load("p.yaml", []byte(src))
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

func readFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "pipelines", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestVerbatimTextRejected: text that Kubernetes or Argo reads as it is cannot be decoded in the pod, so "{{"
// there (also when a JSON or URL escape hides it from a first look) is an error naming the IR path.
func TestVerbatimTextRejected(t *testing.T) {
	withCommand := func(old, new string) string { return strings.Replace(minimal, old, new, 1) }
	cases := []struct {
		name, src, want string
		opts            Options
	}{
		{"image", withCommand("{image: alpine,", `{image: "alpine:{{workflow.uid}}",`), `deploymentSpec.executors["exec-a"].container.image: "alpine:{{workflow.uid}}": Argo would evaluate`, Options{}},
		{"platform secret name", minimal + "---\n" + `platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-a:
          secretAsEnv:
          - secretName: "s-{{workflow.uid}}"
            keyToEnv: [{secretKey: k, envVar: K}]
`, `platforms["kubernetes"].deploymentSpec.executors["exec-a"].secretAsEnv[0].secretName: "s-{{workflow.uid}}"`, Options{}},
		{"platform env name", minimal + "---\n" + `platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-a:
          fieldPathAsEnv: [{name: "{{=sprig.upper('x')}}", fieldPath: metadata.name}]
`, `executors["exec-a"].fieldPathAsEnv[0].name`, Options{}},
		{"platform node selector key", minimal + "---\n" + `platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-a:
          nodeSelector: {labels: {"{{workflow.uid}}": a}}
`, `executors["exec-a"].nodeSelector.labels["{{workflow.uid}}"]`, Options{}},
		{"input artifact, percent-encoded", withArtifactInput, `root.inputDefinitions.artifacts["data"]: --input-artifact data=gs://b/%7B%7Bworkflow.uid%7D%7D: URI "gs://b/%7B%7Bworkflow.uid%7D%7D": Argo would evaluate`,
			Options{InputArtifacts: map[string]string{"data": "gs://b/%7B%7Bworkflow.uid%7D%7D"}}},
		{"loop items, JSON-escaped", strings.Replace(readFixture(t, "loops.yaml"), `raw: '["x", "y"]'`, `raw: '["x", "\u007b\u007bworkflow.uid}}"]'`, 1), `.items.raw: loop items that contain "{{"`, Options{}},
		{"env name not a C identifier", withCommand("{image: alpine,", `{image: alpine, env: [{name: "A;touch /tmp/x", value: v}],`), `deploymentSpec.executors["exec-a"].container.env[0].name: "A;touch /tmp/x": an environment variable name must be a C identifier`, Options{}},
		{"encoded env value without command", withCommand(`{image: alpine, command:`, `{image: alpine, env: [{name: A, value: "{{workflow.uid}}"}], args:`), `deploymentSpec.executors["exec-a"].container.env[0].value: text with "{{" cannot be passed verbatim to a container without a command`, Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load("p.yaml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(p, tc.opts)
			if err == nil {
				t.Fatal("compiled without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestWrapperTokensOnlyInTheirSlot: the component's own source holds the wrapper's token texts; KFP's real
// executor must get the source unchanged (the wrapper replaces tokens only in the argument the contract marks).
func TestWrapperTokensOnlyInTheirSlot(t *testing.T) {
	sdk := kfpSDK(t)
	src := strings.Replace(readFixture(t, "kfp-executor-contract.yaml"), `def echo_text(text: str) -> str:\n\
          \    return text\n\n"`, `def echo_text(text: str) -> str:\n\
          \    return text + '|%%kfpexec%%|%%kfplist:text%%'\n\n"`, 1)
	wf := compileText(t, src, Options{Parameters: map[string]any{"message": "hi"}})
	dir := t.TempDir()
	tmpl := renderTask(t, wf, dagTask(t, wf, "echo-message"), globals(wf, nil), nil)
	if code, log := runPod(t, tmpl.Container, dir, sdk); code != 0 {
		t.Fatalf("exit %d: %s", code, log)
	}
	data, err := os.ReadFile(filepath.Join(dir, "parameters", "Output"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := decodeInert(string(data)), "hi|%%kfpexec%%|%%kfplist:text%%"; got != want {
		t.Errorf("the component returned %q, want %q", got, want)
	}
}
