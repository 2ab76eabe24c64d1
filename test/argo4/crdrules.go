package argo4

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// CRDRules checks manifests with the apiserver's own code for custom resources (k8s.io/apiextensions-apiserver):
// the OpenAPI schema of the served version and its CEL rules (x-kubernetes-validations), which Argo 4's full
// CRDs carry (at most one template type, no timeout or activeDeadlineSeconds on DAG and steps templates, ...)
// and which test/crdschema does not evaluate. Pruning and strict field validation are not done here.
type CRDRules struct {
	byKind map[string]kindRules
}

type kindRules struct {
	structural *structuralschema.Structural
	schema     validation.SchemaValidator
	cel        *cel.Validator // nil when the kind has no CEL rules
}

// LoadCRDRules reads every CustomResourceDefinition in dir (*.yaml).
func LoadCRDRules(dir string) (*CRDRules, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	r := &CRDRules{byKind: map[string]kindRules{}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			s, err := structuralschema.NewStructural(&internal)
			if err != nil {
				return nil, fmt.Errorf("%s: structural schema: %w", f, err)
			}
			sv, _, err := validation.NewSchemaValidator(&internal)
			if err != nil {
				return nil, fmt.Errorf("%s: schema validator: %w", f, err)
			}
			r.byKind[crd.Spec.Names.Kind] = kindRules{structural: s, schema: sv, cel: cel.NewValidator(s, true, celconfig.PerCallLimit)}
		}
	}
	if len(r.byKind) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return r, nil
}

// Check returns what the apiserver's schema and CEL validation say about a manifest (JSON or YAML), sorted;
// nil means accepted.
func (r *CRDRules) Check(ctx context.Context, manifest []byte) ([]string, error) {
	// Numbers as the apiserver decodes them: int64 where integral, else float64.
	raw, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	kind, _ := obj["kind"].(string)
	k, ok := r.byKind[kind]
	if !ok {
		return nil, fmt.Errorf("no CRD for kind %q", kind)
	}
	errs := validation.ValidateCustomResource(nil, obj, k.schema)
	if k.cel != nil {
		celErrs, _ := k.cel.Validate(ctx, nil, k.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	sort.Strings(out)
	return out, nil
}
