package crdschema

import (
	"os"
	"reflect"
	"testing"
)

const testCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  names:
    kind: Thing
  versions:
  - name: v1
    served: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [name, maxAge]
            properties:
              name: {type: string, pattern: '^[a-z]+$', maxLength: 5}
              maxAge: {type: string}
              port:
                x-kubernetes-int-or-string: true
                anyOf: [{type: integer}, {type: string}]
              replicas: {type: integer, minimum: 1}
              policy: {type: string, enum: [Allow, Forbid]}
              labels:
                type: object
                additionalProperties: {type: string}
              free:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              items:
                type: array
                maxItems: 1
                items: {type: object, properties: {a: {type: boolean}}}
`

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/thing.yaml", testCRD)
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"valid", `{kind: Thing, metadata: {name: X_Y}, spec: {name: ab, maxAge: "", port: 80, replicas: 2, policy: Allow, labels: {a: b}, free: {x: {y: 1}}, items: [{a: true}]}}`, nil},
		{"string port", `{kind: Thing, spec: {name: ab, maxAge: "", port: http}}`, nil},
		{"missing required", `{kind: Thing, spec: {name: ab}}`, []string{"spec.maxAge: Required value"}},
		{"unknown field", `{kind: Thing, spec: {name: ab, maxAge: "", extra: 1}}`, []string{"spec.extra: unknown field"}},
		{"wrong type", `{kind: Thing, spec: {name: ab, maxAge: 3}}`, []string{"spec.maxAge: Invalid value: number: must be of type string"}},
		{"not an integer", `{kind: Thing, spec: {name: ab, maxAge: "", replicas: 1.5}}`, []string{"spec.replicas: Invalid value: number: must be of type integer"}},
		{"bounds", `{kind: Thing, spec: {name: abcdef, maxAge: "", replicas: 0, policy: Maybe, items: [{}, {}]}}`, []string{
			"spec.items: Too many: 2: must have at most 1 items",
			"spec.name: Too long: may not be more than 5 characters",
			"spec.policy: Unsupported value: Maybe",
			"spec.replicas: Invalid value: 0: should be greater than or equal to 1",
		}},
		{"pattern", `{kind: Thing, spec: {name: a_b, maxAge: ""}}`, []string{`spec.name: Invalid value: "a_b": should match '^[a-z]+$'`}},
		{"map values", `{kind: Thing, spec: {name: ab, maxAge: "", labels: {a: [1]}}}`, []string{"spec.labels.a: Invalid value: array: must be of type string"}},
		{"array items", `{kind: Thing, spec: {name: ab, maxAge: "", items: [{a: "yes", b: 1}]}}`, []string{"spec.items[0].a: Invalid value: string: must be of type boolean", "spec.items[0].b: unknown field"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Check([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
	if _, err := s.Check([]byte(`{kind: Other}`)); err == nil {
		t.Error("a kind without a CRD was accepted")
	}
}

// TestArgoFullCRDs reproduces the apiserver's rejection from issue #18 with Argo's own full CRD.
func TestArgoFullCRDs(t *testing.T) {
	s, err := ArgoFullCRDs("github.com/argoproj/argo-workflows/v3", "v3.7.18")
	if err != nil {
		t.Fatal(err)
	}
	wf := `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: p-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine}
    memoize: {key: k, cache: {configMap: {name: c, key: ""}}}
`
	got, err := s.Check([]byte(wf))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"spec.templates[0].memoize.maxAge: Required value"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
