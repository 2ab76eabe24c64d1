package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
)

// TestUnsupportedFieldsAreRejectedByName: every proto field the model marks unsupported is an error that names
// the field's IR path and says why, never "unknown field" and never ignored.
func TestUnsupportedFieldsAreRejectedByName(t *testing.T) {
	n := 0
	eachUnsupportedField(func(typ reflect.Type, name, why string) {
		n++
		err := decodeStrict(map[string]any{name: "set"}, reflect.New(typ).Interface(), "x")
		if !errors.Is(err, ErrUnsupported) || !strings.HasPrefix(err.Error(), "x."+name+": "+why) {
			t.Errorf("%s.%s set: %v", typ.Name(), name, err)
		}
		if err := decodeStrict(map[string]any{name: nil}, reflect.New(typ).Interface(), "x"); err != nil {
			t.Errorf("%s.%s null: %v", typ.Name(), name, err)
		}
	})
	if n < 10 {
		t.Errorf("only %d unsupported fields found", n)
	}
}

// eachUnsupportedField calls fn for every field of the IR model (PipelineSpec and PlatformSpec, and every
// message reachable from them) that carries an `unsupported` tag: its struct type, JSON name and reason.
func eachUnsupportedField(fn func(typ reflect.Type, name, why string)) {
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			walk(f.Type)
			if why := f.Tag.Get("unsupported"); why != "" {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				fn(typ, name, why)
			}
		}
	}
	walk(reflect.TypeOf(PipelineSpec{}))
	walk(reflect.TypeOf(PlatformSpec{}))
}

// TestLiterals: a dsl.Literal input's allowed values check its default, -p values and task constants, and
// become the Argo parameter's enum, which argo submit checks too.
func TestLiterals(t *testing.T) {
	spec := strings.Replace(minimal, "      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1, literals: [0.1, 0.5, 1]}", 1)
	wf := compileSpec(t, "lit.yaml", spec, Options{Parameters: map[string]any{"lr": "1.0"}})
	arg := wf.Spec.Arguments.Parameters[0]
	if arg.Value.String() != "1" || len(arg.Enum) != 3 || arg.Enum[0].String() != "0.1" || arg.Enum[2].String() != "1" {
		t.Errorf("argument %+v", arg)
	}
	p, err := Load("lit.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(p, Options{Parameters: map[string]any{"lr": "0.2"}}); err == nil || err.Error() != `lit.yaml: parameter "lr": 0.2 is not one of the allowed values 0.1, 0.5, 1` {
		t.Errorf("-p lr=0.2: %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.2, literals: [0.1, 0.5]}", `lit.yaml: root.inputDefinitions.parameters["lr"].defaultValue: 0.2 is not one of the allowed values 0.1, 0.5`},
		{"lr: {parameterType: NUMBER_DOUBLE}", "lr: {parameterType: NUMBER_DOUBLE, literals: [0.1, 0.7]}", `lit.yaml: root.dag.tasks["eval"].inputs.parameters["lr"].runtimeValue.constant: 0.5 is not one of the allowed values 0.1, 0.7`},
		{"lr: {parameterType: NUMBER_DOUBLE}", "lr: {parameterType: NUMBER_DOUBLE, literals: [x]}", `lit.yaml: components["comp-a"].inputDefinitions.parameters["lr"]: literals[0]: `},
	} {
		_, err := Load("lit.yaml", []byte(strings.Replace(minimal, tc.old, tc.new, 1)))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.new, err)
		}
	}
}

// TestPipelineConfigTTLAndDeadline: dsl.PipelineConfig's TTLs and deadline become the Workflow's ttlStrategy
// and activeDeadlineSeconds; the compile flags win.
func TestPipelineConfigTTLAndDeadline(t *testing.T) {
	spec := minimal + "---\nplatforms:\n  kubernetes:\n    pipelineConfig: {resourceTtlOnCompletion: 86400, resourceTtlOnSuccess: 60, resourceTtlOnFailure: 600, activeDeadlineSeconds: 3600}\n"
	p, err := Load("cfg.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ttl := wf.Spec.TTLStrategy
	if ttl == nil || *ttl.SecondsAfterCompletion != 86400 || *ttl.SecondsAfterSuccess != 60 || *ttl.SecondsAfterFailure != 600 || *wf.Spec.ActiveDeadlineSeconds != 3600 {
		t.Errorf("ttl %+v deadline %v", ttl, wf.Spec.ActiveDeadlineSeconds)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	wf, err = Compile(p, Options{TTL: time.Hour, ActiveDeadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if ttl := wf.Spec.TTLStrategy; *ttl.SecondsAfterCompletion != 3600 || ttl.SecondsAfterSuccess != nil || *wf.Spec.ActiveDeadlineSeconds != 60 {
		t.Errorf("flags: ttl %+v deadline %v", ttl, *wf.Spec.ActiveDeadlineSeconds)
	}
	bad, _ := Load("cfg.yaml", []byte(strings.Replace(spec, "resourceTtlOnSuccess: 60", "resourceTtlOnSuccess: 3000000000", 1)))
	if _, err := Compile(bad, Options{}); err == nil || !strings.Contains(err.Error(), `pipelineConfig.resourceTtlOnSuccess: resourceTtlOnSuccess 3e+09: expected 1 to 2147483647`) {
		t.Errorf("overflow: %v", err)
	}
}

// TestOlderSDKValues: specs of KFP SDK 2.0–2.9 (schemaVersion 2.0.0) write typed defaults and constants as
// strings; they compile to the values of their types, and a string that is no such value still fails.
func TestOlderSDKValues(t *testing.T) {
	const spec = `
components:
  comp-a:
    executorLabel: exec-a
    inputDefinitions:
      parameters:
        n: {parameterType: NUMBER_INTEGER}
        f: {parameterType: NUMBER_DOUBLE}
        b: {parameterType: BOOLEAN}
        l: {parameterType: LIST}
deploymentSpec:
  executors:
    exec-a:
      container: {image: alpine, command: [echo, "{{$.inputs.parameters['n']}}", "{{$.inputs.parameters['f']}}", "{{$.inputs.parameters['b']}}", "{{$.inputs.parameters['l']}}"]}
pipelineInfo: {name: old}
root:
  dag:
    tasks:
      a:
        componentRef: {name: comp-a}
        inputs:
          parameters:
            n: {componentInputParameter: n}
            f: {componentInputParameter: f}
            b: {runtimeValue: {constant: "True"}}
            l: {runtimeValue: {constant: "[1, 2]"}}
        taskInfo: {name: a}
  inputDefinitions:
    parameters:
      n: {parameterType: NUMBER_INTEGER, defaultValue: "1000"}
      f: {parameterType: NUMBER_DOUBLE, defaultValue: "0.5"}
schemaVersion: 2.0.0
sdkVersion: kfp-2.0.1
`
	wf := compileSpec(t, "old.yaml", spec, Options{})
	args := map[string]string{}
	for _, a := range wf.Spec.Arguments.Parameters {
		args[a.Name] = a.Value.String()
	}
	if args["n"] != "1000" || args["f"] != "0.5" {
		t.Errorf("arguments %v", args)
	}
	consts := map[string]string{}
	for _, a := range wf.Spec.Templates[0].DAG.Tasks[0].Arguments.Parameters {
		consts[a.Name] = a.Value.String()
	}
	if consts["b"] != "true" || consts["l"] != "[1,2]" {
		t.Errorf("task constants %v", consts)
	}
	if _, err := Load("old.yaml", []byte(strings.Replace(spec, `defaultValue: "1000"`, `defaultValue: "many"`, 1))); err == nil || !strings.Contains(err.Error(), `root.inputDefinitions.parameters["n"].defaultValue: expected an integer, got the string "many"`) {
		t.Errorf("a string that is no integer: %v", err)
	}
}

// TestCustomCacheKey: cachingOptions.cacheKey replaces the automatic key, as in KFP: the component's name and
// the custom key, whatever the inputs; a task without one keeps the key over its inputs.
func TestCustomCacheKey(t *testing.T) {
	spec := strings.Replace(minimal, "        taskInfo: {name: train}", "        taskInfo: {name: train}\n        cachingOptions: {enableCache: true, cacheKey: \"{{workflow.uid}} v1\"}", 1)
	spec = strings.Replace(spec, "        taskInfo: {name: eval}", "        taskInfo: {name: eval}\n        cachingOptions: {enableCache: true}", 1)
	wf := compileSpec(t, "cache.yaml", spec, Options{})
	keys := map[string]string{}
	for _, task := range wf.Spec.Templates[0].DAG.Tasks {
		for _, tmpl := range wf.Spec.Templates {
			if tmpl.Name == task.Template && tmpl.Memoize != nil {
				keys[task.Name] = tmpl.Memoize.Key
			}
		}
	}
	sum := sha256.Sum256([]byte("comp-a\x00{{workflow.uid}} v1"))
	if keys["train"] != hex.EncodeToString(sum[:]) {
		t.Errorf("custom key %q", keys["train"])
	}
	if !strings.HasPrefix(keys["eval"], "{{=sprig.sha256sum(") {
		t.Errorf("automatic key %q", keys["eval"])
	}
}

// compileSpec loads, compiles and validates an IR text, failing the test on any error.
func compileSpec(t *testing.T, name, spec string, opts Options) *wfv1.Workflow {
	t.Helper()
	p, err := Load(name, []byte(spec))
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

// TestRunPlaceholders: the run's create and schedule times and the pipeline root resolve in container commands
// and in task constants, rendered by Argo's own template engine.
func TestRunPlaceholders(t *testing.T) {
	spec := strings.Replace(minimal, `command: [echo, "{{$.inputs.parameters['lr']}}",`,
		`command: [echo, "{{$.pipeline_job_create_time_utc}}", "{{$.pipeline_job_schedule_time_utc}}", "{{$.pipeline_root}}", "{{$.inputs.parameters['lr']}}",`, 1)
	p, err := Load("run.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(p, Options{}); err == nil || !strings.Contains(err.Error(), "{{$.pipeline_root}} is the artifact repository's location: give it with --artifact-store") {
		t.Errorf("pipeline root without a store: %v", err)
	}
	wf := compileSpec(t, "run.yaml", spec, Options{ArtifactStore: "minio://mlpipeline"})
	var ctr []string
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container != nil {
			ctr = append(tmpl.Container.Command, tmpl.Container.Args...)
		}
	}
	// Argo's globals hold the creation time as RFC 3339 and, under the same name, its strftime fields
	// (workflow.creationTimestamp.Y, ...): in an expression, workflow.creationTimestamp is that map.
	scope := map[string]any{"workflow.creationTimestamp": "2026-12-01T02:00:00Z", "workflow.creationTimestamp.Y": "2026",
		"workflow.creationTimestamp.RFC3339": "2026-12-01T02:00:00Z", "inputs.parameters.lr": "0.1"}
	got := strings.Join(replaceIn(t, ctr, scope, true), " ")
	if !strings.Contains(got, "2026-12-01T02:00:00Z 2026-12-01T02:00:00Z minio://mlpipeline/kfp-argo") {
		t.Errorf("a run that was not scheduled: %s", got)
	}
	scope["workflow.scheduledTime"] = "2026-12-01T01:59:00Z"
	got = strings.Join(replaceIn(t, ctr, scope, true), " ")
	if !strings.Contains(got, "2026-12-01T02:00:00Z 2026-12-01T01:59:00Z minio://mlpipeline/kfp-argo") {
		t.Errorf("a CronWorkflow's run: %s", got)
	}
}
