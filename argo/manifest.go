package argo

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Marshal renders an Argo object as a manifest for people and GitOps: without status, without the empty objects
// and nulls that Go's zero values marshal to, in YAML or indented JSON.
func Marshal(obj any, format string) ([]byte, error) {
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

// prune drops nulls, empty objects and the empty names Kubernetes types marshal for unnamed containers; empty
// strings elsewhere are values (an empty parameter value means "") and stay.
func prune(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil || prune(e) {
				delete(x, k)
				continue
			}
			if s, ok := e.(string); ok && s == "" && (k == "name" || k == "maxAge") {
				if _, isContainer := x["image"]; isContainer || k == "maxAge" {
					delete(x, k)
				}
			}
		}
		return len(x) == 0
	case []any:
		for _, e := range x {
			prune(e)
		}
	}
	return false
}
