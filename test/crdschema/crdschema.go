// Package crdschema checks manifests against the structural OpenAPI schemas of CustomResourceDefinitions, the
// way the apiserver checks an object before it stores it: required fields, types, unknown fields (kubectl's
// default --validate=strict rejects them), enums, patterns, lengths and bounds. It lets unit tests hold the
// printed manifests to Argo's full CRDs of several Argo versions without a cluster; the e2e tests send the
// same bytes to a real apiserver. CEL rules (x-kubernetes-validations) and ObjectMeta are not checked here.
package crdschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// Schemas holds the served schema of each kind of a set of CRDs.
type Schemas struct {
	byKind map[string]map[string]any
}

// ArgoFullCRDs loads the full CRDs of an Argo Workflows module version (e.g. github.com/argoproj/argo-workflows/v3
// at v3.7.18) from the Go module cache, downloading the module if it is not there.
func ArgoFullCRDs(module, version string) (*Schemas, error) {
	dir, err := ArgoFullCRDDir(module, version)
	if err != nil {
		return nil, err
	}
	return LoadDir(dir)
}

// ArgoFullCRDDir is the directory of an Argo Workflows module version's full CRDs in the Go module cache
// (manifests/base/crds/full), downloading the module if it is not there.
func ArgoFullCRDDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", module, version, err, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no module directory (%v %s)", module, version, err, info.Error)
	}
	return filepath.Join(info.Dir, "manifests", "base", "crds", "full"), nil
}

// LoadDir reads every CustomResourceDefinition in dir (*.yaml, one object a file).
func LoadDir(dir string) (*Schemas, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	s := &Schemas{byKind: map[string]map[string]any{}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Names    struct{ Kind string } `json:"names"`
				Versions []struct {
					Served bool `json:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Served && v.Schema.OpenAPIV3Schema != nil {
				s.byKind[crd.Spec.Names.Kind] = v.Schema.OpenAPIV3Schema
			}
		}
	}
	if len(s.byKind) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition with a schema in %s", dir)
	}
	return s, nil
}

// Check decodes a manifest (YAML or JSON, one object) and returns every violation of its kind's schema, each
// as "path: problem" (spec.templates[1].memoize.maxAge: Required value), sorted.
func (s *Schemas) Check(manifest []byte) ([]string, error) {
	js, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	kind, _ := doc["kind"].(string)
	schema, ok := s.byKind[kind]
	if !ok {
		return nil, fmt.Errorf("no CRD for kind %q", kind)
	}
	var errs []string
	walk("", doc, schema, &errs)
	sort.Strings(errs)
	return errs, nil
}

func walk(path string, v any, schema map[string]any, errs *[]string) {
	report := func(format string, args ...any) {
		p := path
		if p == "" {
			p = "<root>"
		}
		*errs = append(*errs, p+": "+fmt.Sprintf(format, args...))
	}
	if v == nil {
		// The apiserver prunes nulls of non-nullable fields before validating.
		return
	}
	if b, _ := schema["x-kubernetes-int-or-string"].(bool); b {
		switch v.(type) {
		case string, json.Number:
		default:
			report("Invalid value: must be an integer or a string")
		}
		return
	}
	if path == "metadata" {
		// ObjectMeta is validated by the apiserver's generic code, not the CRD schema.
		return
	}
	typ, _ := schema["type"].(string)
	if !typeMatches(typ, v) {
		report("Invalid value: %s: must be of type %s", describe(v), typ)
		return
	}
	if enum, ok := schema["enum"].([]any); ok && !contains(enum, v) {
		report("Unsupported value: %v", v)
	}
	switch x := v.(type) {
	case string:
		n := float64(utf8.RuneCountInString(x))
		if m, ok := number(schema["maxLength"]); ok && n > m {
			report("Too long: may not be more than %v characters", m)
		}
		if m, ok := number(schema["minLength"]); ok && n < m {
			report("Invalid value: should be at least %v chars long", m)
		}
		if p, ok := schema["pattern"].(string); ok {
			if re, err := regexp.Compile(p); err == nil && !re.MatchString(x) {
				report("Invalid value: %q: should match '%s'", x, p)
			}
		}
	case json.Number:
		f, _ := x.Float64()
		if m, ok := number(schema["maximum"]); ok && f > m {
			report("Invalid value: %v: should be less than or equal to %v", x, m)
		}
		if m, ok := number(schema["minimum"]); ok && f < m {
			report("Invalid value: %v: should be greater than or equal to %v", x, m)
		}
	case []any:
		if m, ok := number(schema["maxItems"]); ok && float64(len(x)) > m {
			report("Too many: %d: must have at most %v items", len(x), m)
		}
		if m, ok := number(schema["minItems"]); ok && float64(len(x)) < m {
			report("Invalid value: %d: should have at least %v items", len(x), m)
		}
		items, _ := schema["items"].(map[string]any)
		for i, e := range x {
			if items != nil {
				walk(fmt.Sprintf("%s[%d]", path, i), e, items, errs)
			}
		}
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				name, _ := r.(string)
				if _, present := x[name]; !present {
					*errs = append(*errs, join(path, name)+": Required value")
				}
			}
		}
		preserve, _ := schema["x-kubernetes-preserve-unknown-fields"].(bool)
		additional, hasAdditional := schema["additionalProperties"]
		for k, e := range x {
			if ps, ok := props[k].(map[string]any); ok {
				walk(join(path, k), e, ps, errs)
				continue
			}
			switch a := additional.(type) {
			case map[string]any:
				walk(join(path, k), e, a, errs)
				continue
			case bool:
				if a {
					continue
				}
			}
			if preserve || (props == nil && !hasAdditional) {
				continue
			}
			*errs = append(*errs, join(path, k)+": unknown field")
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func typeMatches(typ string, v any) bool {
	switch typ {
	case "":
		return true
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func contains(enum []any, v any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}

// Summary joins violations for a test message.
func Summary(errs []string) string { return strings.Join(errs, "\n") }
