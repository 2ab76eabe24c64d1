package argo

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// printedWorkflow has every field whose zero or empty value means something to Argo or Kubernetes, next to the
// empty structs Go marshals for unset fields.
func printedWorkflow() *wfv1.Workflow {
	return &wfv1.Workflow{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "p-"},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "main",
			Templates: []wfv1.Template{{
				Name:      "main",
				Container: &apiv1.Container{Image: "alpine", Command: []string{"true"}},
				Memoize: &wfv1.Memoize{
					Key:   "k",
					Cache: &wfv1.Cache{ConfigMap: &apiv1.ConfigMapKeySelector{LocalObjectReference: apiv1.LocalObjectReference{Name: "c"}}},
				},
				Outputs: wfv1.Outputs{Artifacts: []wfv1.Artifact{{
					Name: "out", Path: "/tmp/out",
					Archive: &wfv1.ArchiveStrategy{None: &wfv1.NoneStrategy{}},
				}}},
				Volumes: []apiv1.Volume{{Name: "scratch", VolumeSource: apiv1.VolumeSource{EmptyDir: &apiv1.EmptyDirVolumeSource{}}}},
			}},
		},
	}
}

// TestMarshalKeepsMeaningfulEmptyValues pins what the CRD schemas and the controller need in the printed bytes
// (what kubectl and GitOps send): memoize.maxAge is required by Argo's full CRDs (empty means the entry never
// expires), an empty archive.none means "upload as is, not as .tgz", an empty emptyDir is the volume's source.
func TestMarshalKeepsMeaningfulEmptyValues(t *testing.T) {
	wf := printedWorkflow()
	for _, format := range []string{"yaml", "json"} {
		out, err := Marshal(wf, format)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		tmpl := doc["spec"].(map[string]any)["templates"].([]any)[0].(map[string]any)
		memo := tmpl["memoize"].(map[string]any)
		if v, ok := memo["maxAge"]; !ok || v != "" {
			t.Errorf("%s: memoize.maxAge = %v (present %v), want \"\"", format, v, ok)
		}
		art := tmpl["outputs"].(map[string]any)["artifacts"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(art["archive"], map[string]any{"none": map[string]any{}}) {
			t.Errorf("%s: artifact archive = %#v, want {none: {}}", format, art["archive"])
		}
		vol := tmpl["volumes"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(vol["emptyDir"], map[string]any{}) {
			t.Errorf("%s: volume = %#v, want emptyDir: {}", format, vol)
		}
		// The printed bytes decode to the object that was printed: nothing the controller reads was lost.
		var back wfv1.Workflow
		if err := yaml.UnmarshalStrict(out, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, wf) {
			a, _ := json.Marshal(wf)
			b, _ := json.Marshal(&back)
			t.Errorf("%s: printed bytes decode to another workflow:\nprinted %s\ndecoded %s", format, a, b)
		}
	}
}

// TestMarshalDropsNoise: the empty structs and nulls Go marshals for unset fields stay out of the manifest.
func TestMarshalDropsNoise(t *testing.T) {
	out, err := Marshal(printedWorkflow(), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, noise := range []string{"creationTimestamp", "status", "resources: {}", "inputs: {}", "metadata: {}", "arguments: {}", "name: \"\"", "null"} {
		if strings.Contains(string(out), noise) {
			t.Errorf("printed manifest has %q:\n%s", noise, out)
		}
	}
}

// TestMarshalForArgo4 drops memoize.cache.configMap.key, which Argo 4's full CRDs reject as an unknown field,
// and keeps it for Argo 3, whose full CRDs require it.
func TestMarshalForArgo4(t *testing.T) {
	for _, tc := range []struct {
		v       Version
		wantKey bool
	}{{V3, true}, {V4, false}} {
		out, err := MarshalFor(printedWorkflow(), "yaml", tc.v)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		cm := doc["spec"].(map[string]any)["templates"].([]any)[0].(map[string]any)["memoize"].(map[string]any)["cache"].(map[string]any)["configMap"].(map[string]any)
		if _, has := cm["key"]; has != tc.wantKey || cm["name"] != "c" {
			t.Errorf("%s: configMap %v, want key present %v", tc.v, cm, tc.wantKey)
		}
	}
	if _, err := ParseVersion("3.7"); err == nil || !strings.Contains(err.Error(), "expected v3") {
		t.Errorf("ParseVersion(3.7): %v", err)
	}
}
