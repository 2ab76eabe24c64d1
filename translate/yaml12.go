package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// yamlToJSON converts one YAML document to JSON resolving plain scalars as YAML 1.2 does (go-yaml v3): only
// true/false are booleans. sigs.k8s.io/yaml's YAMLToJSON follows YAML 1.1 and turns y, n, yes, no, on and off
// into booleans, so a parameter named `y` became "true"; the KFP SDK writes IR with PyYAML, which never
// resolves y/n as booleans and quotes yes/no/on/off when they are strings. Numbers are written as
// YAMLToJSON wrote them (integers exactly, other numbers as Go formats a float64).
func yamlToJSON(raw []byte) ([]byte, error) {
	var doc yaml3.Node
	if err := yaml3.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	if err := writeJSON(&b, &doc, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml3.Node, depth int) error {
	if depth > 10000 {
		return fmt.Errorf("line %d: YAML nested too deeply", n.Line)
	}
	switch n.Kind {
	case yaml3.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0], depth+1)
	case yaml3.AliasNode:
		return writeJSON(b, n.Alias, depth+1)
	case yaml3.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml3.MappingNode:
		b.WriteByte('{')
		seen := map[string]bool{}
		first := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml3.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml3.ScalarNode {
				return fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
			}
			if seen[k.Value] {
				return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			if !first {
				b.WriteByte(',')
			}
			first = false
			key, _ := json.Marshal(k.Value)
			b.Write(key)
			b.WriteByte(':')
			if err := writeJSON(b, v, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case yaml3.ScalarNode:
		return writeScalar(b, n)
	}
	return fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

func writeScalar(b *bytes.Buffer, n *yaml3.Node) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
		return nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return err
		}
		b.WriteString(strconv.FormatBool(v))
		return nil
	case "!!int":
		var v int64
		if err := n.Decode(&v); err == nil {
			b.WriteString(strconv.FormatInt(v, 10))
			return nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			b.WriteString(strconv.FormatUint(u, 10))
			return nil
		}
		return writeFloat(b, n)
	case "!!float":
		return writeFloat(b, n)
	}
	s, _ := json.Marshal(n.Value)
	b.Write(s)
	return nil
}

func writeFloat(b *bytes.Buffer, n *yaml3.Node) error {
	var f float64
	if err := n.Decode(&f); err != nil {
		return err
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("line %d: %s is not a JSON number", n.Line, strings.TrimSpace(n.Value))
	}
	s, err := json.Marshal(f)
	if err != nil {
		return err
	}
	b.Write(s)
	return nil
}
