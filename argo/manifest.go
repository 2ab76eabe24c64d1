package argo

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Version is the Argo Workflows major version a printed manifest is written for.
type Version string

const (
	// V3 is Argo 3.6 and 3.7, whose full CRDs require memoize.cache.configMap.key.
	V3 Version = "v3"
	// V4 is Argo 4.x, whose memoize cache names only a ConfigMap: its full CRDs reject `key` as an unknown field
	// under strict field validation (kubectl's default).
	V4 Version = "v4"
)

// ParseVersion reads --argo-version.
func ParseVersion(s string) (Version, error) {
	switch v := Version(s); v {
	case V3, V4:
		return v, nil
	}
	return "", fmt.Errorf("--argo-version %q: expected v3 (Argo 3.6, 3.7) or v4 (Argo 4.x)", s)
}

// Marshal renders an Argo object as a manifest for Argo 3 (MarshalFor).
func Marshal(obj any, format string) ([]byte, error) { return MarshalFor(obj, format, V3) }

// MarshalFor renders an Argo object as a manifest for people and GitOps: without status, without the empty
// objects and nulls that Go's zero values marshal to, in YAML or indented JSON, with the fields the CRDs of
// Argo version v require and none they reject.
func MarshalFor(obj any, format string, v Version) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	delete(doc, "status")
	if md, ok := doc["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	prune(doc)
	if v == V4 {
		dropCacheKey(doc)
	}
	switch format {
	case "json":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case "yaml", "":
		return yaml.Marshal(doc)
	}
	return nil, fmt.Errorf("output format %q: expected yaml or json", format)
}

// emptyNoise are the keys whose empty object is only what Go marshals for an unset struct field (a template's
// inputs, a container's resources). Every other empty object is kept: it means something (archive.none: upload
// as is, emptyDir: the volume's source, suspend: wait for a resume).
var emptyNoise = map[string]bool{"metadata": true, "inputs": true, "outputs": true, "arguments": true, "resources": true, "status": true}

// prune drops nulls, the empty structs of emptyNoise and the empty names Kubernetes types marshal for unnamed
// containers; empty strings elsewhere are values (an empty parameter value means "", an empty memoize.maxAge
// "never expires" and is required by Argo's full CRDs) and stay.
func prune(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			prune(e)
			if m, ok := e.(map[string]any); ok && len(m) == 0 && emptyNoise[k] {
				delete(x, k)
				continue
			}
			if s, ok := e.(string); ok && s == "" && k == "name" {
				if _, isContainer := x["image"]; isContainer {
					delete(x, k)
				}
			}
		}
	case []any:
		for _, e := range x {
			prune(e)
		}
	}
}

// dropCacheKey removes memoize.cache.configMap.key, which Argo 4's Cache type no longer has.
func dropCacheKey(v any) {
	switch x := v.(type) {
	case map[string]any:
		if m, ok := x["memoize"].(map[string]any); ok {
			if c, ok := m["cache"].(map[string]any); ok {
				if cm, ok := c["configMap"].(map[string]any); ok {
					delete(cm, "key")
				}
			}
		}
		for _, e := range x {
			dropCacheKey(e)
		}
	case []any:
		for _, e := range x {
			dropCacheKey(e)
		}
	}
}
