package translate

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimal is a valid one-task pipeline that the error cases below break one way each.
const minimal = `
components:
  comp-a:
    executorLabel: exec-a
    inputDefinitions:
      parameters:
        lr: {parameterType: NUMBER_DOUBLE}
    outputDefinitions:
      parameters:
        out: {parameterType: STRING}
deploymentSpec:
  executors:
    exec-a:
      container: {image: alpine, command: [echo, "{{$.inputs.parameters['lr']}}", "{{$.outputs.parameters['out'].output_file}}"]}
pipelineInfo: {name: minimal}
root:
  dag:
    tasks:
      train:
        componentRef: {name: comp-a}
        inputs:
          parameters:
            lr: {componentInputParameter: lr}
        taskInfo: {name: train}
      eval:
        componentRef: {name: comp-a}
        dependentTasks: [train]
        inputs:
          parameters:
            lr: {runtimeValue: {constant: 0.5}}
        taskInfo: {name: eval}
  inputDefinitions:
    parameters:
      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}
schemaVersion: 2.1.0
sdkVersion: kfp-2.14.3
`

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string // the error names the file, then this path and message
	}{
		{"unknown field", "taskInfo: {name: train}", "taskInfo: {name: train}\n        retry: 3", `root.dag.tasks["train"].retry: unknown field "retry"`},
		{"wrong type", "dependentTasks: [train]", "dependentTasks: train", `root.dag.tasks["eval"].dependentTasks: expected a list, got the string "train"`},
		{"dangling componentRef", "componentRef: {name: comp-a}\n        dependentTasks", "componentRef: {name: comp-b}\n        dependentTasks", `root.dag.tasks["eval"].componentRef.name: component "comp-b" is not in components`},
		{"dangling executorLabel", "executorLabel: exec-a", "executorLabel: exec-z", `components["comp-a"].executorLabel: executor "exec-z" is not in deploymentSpec.executors`},
		{"dangling producerTask", "lr: {runtimeValue: {constant: 0.5}}", "lr: {taskOutputParameter: {producerTask: nope, outputParameterKey: out}}", `root.dag.tasks["eval"].inputs.parameters["lr"].taskOutputParameter: producer task "nope" is not in this DAG`},
		{"unknown output key", "lr: {runtimeValue: {constant: 0.5}}", "lr: {taskOutputParameter: {producerTask: train, outputParameterKey: nope}}", `task "train" has no output parameter "nope"`},
		{"cycle", "taskInfo: {name: train}", "taskInfo: {name: train}\n        dependentTasks: [eval]", `root.dag.tasks: dependency cycle: eval -> train -> eval`},
		{"missing name", "pipelineInfo: {name: minimal}", "pipelineInfo: {description: x}", `pipelineInfo.name: missing`},
		{"bad parameter type", "lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "lr: {parameterType: FLOAT, defaultValue: 0.1}", `root.inputDefinitions.parameters["lr"].parameterType: unknown parameter type "FLOAT"`},
		{"default of the wrong type", "defaultValue: 0.1}", "defaultValue: fast}", `root.inputDefinitions.parameters["lr"].defaultValue: expected a number, got the string "fast"`},
		{"missing required input", "        inputs:\n          parameters:\n            lr: {componentInputParameter: lr}\n", "", `root.dag.tasks["train"].inputs.parameters: required input parameter "lr" of component "comp-a" is not given`},
		{"malformed yaml", "components:", "components: [", "invalid YAML"},
		{"schema version", "schemaVersion: 2.1.0", "schemaVersion: 1.0.0", `schemaVersion: unsupported schema version "1.0.0"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(minimal, tc.old, tc.new, 1)
			if src == minimal {
				t.Fatalf("case does not change the pipeline")
			}
			_, err := Load("p.yaml", []byte(src))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.HasPrefix(err.Error(), "p.yaml: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to start with p.yaml: and contain %q", err, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		opts Options
		want string
	}{
		{"wrong parameter type", minimal, Options{Parameters: map[string]any{"lr": "fast"}}, `parameter "lr" (NUMBER_DOUBLE): expected a number, got "fast"`},
		{"unknown parameter", minimal, Options{Parameters: map[string]any{"epochs": "3"}}, `parameter "epochs": the pipeline has no such input (inputs: lr)`},
		{"name too long", minimal, Options{Name: strings.Repeat("a", 64)}, "must be no more than 63 characters"},
		{"unknown placeholder", strings.Replace(minimal, `"{{$.outputs.parameters['out'].output_file}}"`, `"{{$.inputs.nonsense}}"`, 1), Options{}, `deploymentSpec.executors["exec-a"].container.command[2]: unknown placeholder "{{$.inputs.nonsense}}"`},
		{"unsupported feature", strings.Replace(minimal, `"{{$.inputs.parameters['lr']}}"`, `"{{$.pipeline_google_cloud_project_id}}"`, 1), Options{}, `deploymentSpec.executors["exec-a"].container.command[1]: Vertex AI placeholder {{$.pipeline_google_cloud_project_id}}: not supported by kfp-argo yet`},
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
			if !strings.HasPrefix(err.Error(), "p.yaml: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to start with p.yaml: and contain %q", err, tc.want)
			}
		})
	}
	p, _ := Load("p.yaml", []byte(strings.Replace(minimal, `"{{$.inputs.parameters['lr']}}"`, `"{{$.pipeline_google_cloud_project_id}}"`, 1)))
	if _, err := Compile(p, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unsupported features must match ErrUnsupported: %v", err)
	}
}

func TestParameterValues(t *testing.T) {
	p, err := Load("p.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   any
		want string
	}{{"0.01", "0.01"}, {"3", "3"}, {"1e-3", "1e-3"}} {
		wf, err := Compile(p, Options{Parameters: map[string]any{"lr": tc.in}})
		if err != nil {
			t.Fatal(err)
		}
		if got := wf.Spec.Arguments.Parameters[0].Value.String(); got != tc.want {
			t.Errorf("-p lr=%v gives %q, want %q", tc.in, got, tc.want)
		}
	}
	for typ, cases := range map[string]map[string]string{
		TypeInteger: {"42": "42", "9007199254740993": "9007199254740993", "-7": "-7"},
		TypeBoolean: {"true": "true", "False": "false"},
		TypeList:    {`[1, "a", {"b": 2}]`: `[1,"a",{"b":2}]`},
		TypeStruct:  {`{"x": [1.5, 2]}`: `{"x":[1.5,2]}`},
		TypeString:  {`{"not": "parsed"}`: `{"not": "parsed"}`},
	} {
		for in, want := range cases {
			v, err := ParseParameterText(typ, in)
			if err != nil {
				t.Fatalf("%s %q: %v", typ, in, err)
			}
			got, err := canonicalValue(typ, v)
			if err != nil || got != want {
				t.Errorf("%s %q -> %q, %v; want %q", typ, in, got, err, want)
			}
		}
	}
	for typ, bad := range map[string]string{TypeInteger: "3.5", TypeBoolean: "yes", TypeList: `{"a":1}`, TypeStruct: "[1]", TypeDouble: "NaN"} {
		v, err := ParseParameterText(typ, bad)
		if err == nil {
			_, err = canonicalValue(typ, v)
		}
		if err == nil {
			t.Errorf("%s accepted %q", typ, bad)
		}
	}
}

func TestLoadPackagesAndDocuments(t *testing.T) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("pipeline.yaml")
	w.Write([]byte(minimal))
	zw.Close()

	var tbuf bytes.Buffer
	gz := gzip.NewWriter(&tbuf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "dir/pipeline.json", Mode: 0o644, Size: int64(len(minimal)), Typeflag: tar.TypeReg})
	tw.Write([]byte(minimal))
	tw.Close()
	gz.Close()

	platform := minimal + "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors: {}\n"
	for name, data := range map[string][]byte{"p.zip": zbuf.Bytes(), "p.tar.gz": tbuf.Bytes(), "two-docs.yaml": []byte(platform)} {
		p, err := Load(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Spec.PipelineInfo.Name != "minimal" {
			t.Errorf("%s: pipeline name %q", name, p.Spec.PipelineInfo.Name)
		}
	}
	if _, err := Load("p.yaml", []byte(minimal+"---\n"+minimal)); err == nil || !strings.Contains(err.Error(), "a second pipeline spec document") {
		t.Errorf("two pipelines in one file: %v", err)
	}
	if _, err := Load("bad.yaml", []byte(minimal+"---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors: {}\n    extra: 1\n")); err == nil || !strings.Contains(err.Error(), `(document 2) platforms["kubernetes"].extra: unknown field`) {
		t.Errorf("platform document error: %v", err)
	}
	// The corpus ships a zip package too.
	if _, err := os.Stat(filepath.Join(corpusDir, "valid", "arguments_parameters.zip")); err == nil {
		if _, err := LoadFile(filepath.Join(corpusDir, "valid", "arguments_parameters.zip")); err != nil {
			t.Error(err)
		}
	}
}
