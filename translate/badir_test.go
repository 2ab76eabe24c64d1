package translate

import (
	"path"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
)

// TestBadIRGetsAnIRPath: IR that used to compile into a workflow Argo's validator rejects ("which is a
// kfp-argo bug") is an error naming the IR path instead (issue #12 item 15).
func TestBadIRGetsAnIRPath(t *testing.T) {
	const platform = "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-a:\n          secretAsEnv:\n          - secretNameParameter: {taskOutputParameter: {producerTask: train, outputParameterKey: nope}}\n            keyToEnv: [{secretKey: k, envVar: K}]\n"
	for _, tc := range []struct {
		name     string
		edits    [][2]string
		opts     Options
		want     string
		compiles bool // compiles (and validates) instead of failing
	}{
		{name: "loop item that names nothing",
			edits: [][2]string{{"lr: {componentInputParameter: lr}", "lr: {componentInputParameter: pipelinechannel--nothing-loop-item}"}},
			want:  `root.dag.tasks["train"].inputs.parameters["lr"].componentInputParameter: "pipelinechannel--nothing-loop-item" is neither an input of the enclosing component nor the item of an enclosing ParallelFor`},
		{name: "selector over a missing loop item",
			edits: [][2]string{{"lr: {componentInputParameter: lr}", "lr: {componentInputParameter: pipelinechannel--nothing-loop-item, parameterExpressionSelector: 'parseJson(string_value)[\"a\"]'}"}},
			want:  `root.dag.tasks["train"].inputs.parameters["lr"].componentInputParameter: "pipelinechannel--nothing-loop-item" is neither`},
		{name: "resource placeholder naming a missing task input",
			edits: [][2]string{{"container: {image: alpine, command:", "container: {image: alpine, resources: {resourceCpuLimit: \"{{$.inputs.parameters['pipelinechannel--cpu']}}\"}, command:"}},
			want:  `root.dag.tasks["eval"].inputs.parameters: the resources of executor "exec-a" take their value from input "pipelinechannel--cpu", which the task does not have`},
		{name: "kfp-kubernetes output reference to a missing output",
			edits: [][2]string{{"sdkVersion: kfp-2.14.3\n", "sdkVersion: kfp-2.14.3\n" + platform}},
			want:  `secretAsEnv[0].secretNameParameter.taskOutputParameter: task "train" has no output parameter "nope"`},
		{name: "declared output the DAG does not produce",
			edits: [][2]string{{"  inputDefinitions:\n    parameters:\n      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "  inputDefinitions:\n    parameters:\n      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}\n  outputDefinitions:\n    parameters:\n      result: {parameterType: STRING}"}},
			want:  `root.outputDefinitions.parameters["result"]: not produced: root.dag.outputs.parameters has no entry for it`},
		{name: "optional pipeline input without default feeding a required input",
			edits: [][2]string{{"lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "lr: {parameterType: NUMBER_DOUBLE, isOptional: true}"}},
			want:  `root.dag.tasks["train"].inputs.parameters["lr"]: input "lr" of component "comp-a" is required, but its source, optional input "lr" of the enclosing component, has no value and no default: give it a value (at the top level: -p lr=VALUE)`},
		{name: "the same, given with -p",
			edits:    [][2]string{{"lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "lr: {parameterType: NUMBER_DOUBLE, isOptional: true}"}},
			opts:     Options{Parameters: map[string]any{"lr": "0.5"}},
			compiles: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := minimal
			for _, e := range tc.edits {
				if !strings.Contains(spec, e[0]) {
					t.Fatalf("edit %q does not apply", e[0])
				}
				spec = strings.Replace(spec, e[0], e[1], 1)
			}
			p, err := Load("bad.yaml", []byte(spec))
			if err == nil {
				wf, cerr := Compile(p, tc.opts)
				if err = cerr; err == nil {
					err = argo.ValidateWorkflow(wf)
				}
			}
			if tc.compiles {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml: ") || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "kfp-argo bug") {
				t.Errorf("error %v\nwant bad.yaml: ... %s", err, tc.want)
			}
		})
	}
}

// TestAllMissingInputArtifactsAtOnce: a pipeline that needs several input artifacts names all of them, with the
// flags to give, in one error.
func TestAllMissingInputArtifactsAtOnce(t *testing.T) {
	spec := strings.Replace(minimal, "  inputDefinitions:\n    parameters:\n      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}",
		"  inputDefinitions:\n    artifacts:\n      a: {artifactType: {schemaTitle: system.Dataset}}\n      b: {artifactType: {schemaTitle: system.Dataset}}\n      c: {artifactType: {schemaTitle: system.Dataset}, isOptional: true}\n    parameters:\n      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", 1)
	p, err := Load("arts.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(p, Options{})
	want := "arts.yaml: root.inputDefinitions.artifacts: the pipeline needs 2 input artifacts: give their locations with --input-artifact a=URI --input-artifact b=URI (or compile with --kind workflowtemplate, whose runs give them)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	if _, err := Compile(p, Options{InputArtifacts: map[string]string{"a": "gs://b/a"}}); err == nil || !strings.Contains(err.Error(), `root.inputDefinitions.artifacts["b"]: the pipeline needs this input artifact: give its location with --input-artifact b=URI`) {
		t.Errorf("one missing: %v", err)
	}
}

// TestOutputArtifactsOfOnePodHaveDistinctKeys: with a repository's default keyFormat ({{workflow.name}}/
// {{pod.name}}), Argo's executor stores an output artifact under the key format joined with the base name of
// its path (archive none). Two output artifacts of one task with the same base name overwrote each other in S3
// (found on real pods: critical/multiple_artifacts_namedtuple.yaml read ds1 back as "bar").
func TestOutputArtifactsOfOnePodHaveDistinctKeys(t *testing.T) {
	for _, f := range []string{"kfp-executor-contract.yaml", "python-io.yaml", "container-io.yaml"} {
		wf := compileFixture(t, f, Options{})
		for _, tmpl := range wf.Spec.Templates {
			seen := map[string]string{}
			for _, a := range tmpl.Outputs.Artifacts {
				if a.ArtifactLocation.HasKey() {
					continue // a key of its own
				}
				base := path.Base(a.Path)
				if other, dup := seen[base]; dup {
					t.Errorf("%s: template %s: output artifacts %s and %s both upload as .../%s", f, tmpl.Name, other, a.Name, base)
				}
				seen[base] = a.Name
			}
		}
	}
}
