package translate

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// maxAliasExpansions bounds the values YAML aliases may add to a document, so a few kilobytes of nested
// aliases cannot expand into gigabytes ("billion laughs").
const maxAliasExpansions = 100_000

var decimalInt = regexp.MustCompile(`^[-+]?[0-9]+$`)

// yamlObject reads one YAML (or JSON) document the way the KFP SDK writes and reads it: YAML 1.2's core
// schema, where only true/false are booleans (YAML 1.1's y, n, yes, no, on and off stay strings), numbers keep
// their exact text (an integer beyond 2^53 is not rounded through a float), and a key repeated in one mapping is
// an error instead of "the last one wins". The result is what encoding/json with UseNumber gives: maps,
// lists, strings, booleans, json.Number and nil.
func yamlObject(raw []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	budget := maxAliasExpansions
	v, err := nodeValue(doc.Content[0], &budget, false)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a pipeline spec: expected a YAML/JSON object at the top, got %s", jsonKind(v))
	}
	return obj, nil
}

// nodeValue converts n and drops each child from the node tree once converted, so that the tree (several times
// the size of the text) is not held in full next to the values built from it. Nodes under an anchor are kept:
// each alias of the anchor converts them again.
func nodeValue(n *yaml.Node, budget *int, keep bool) (any, error) {
	keep = keep || n.Anchor != ""
	switch n.Kind {
	case yaml.AliasNode:
		if *budget--; *budget < 0 {
			return nil, fmt.Errorf("line %d: YAML aliases expand to more than %d values", n.Line, maxAliasExpansions)
		}
		return nodeValue(n.Alias, budget, true)
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		lines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return nil, fmt.Errorf("line %d: a mapping key must be a plain string", k.Line)
			}
			if first, dup := lines[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q is repeated (first at line %d)", k.Line, k.Value, first)
			}
			lines[k.Value] = k.Line
			v, err := nodeValue(n.Content[i+1], budget, keep)
			if err != nil {
				return nil, err
			}
			obj[k.Value] = v
			if !keep {
				n.Content[i], n.Content[i+1] = nil, nil
			}
		}
		return obj, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeValue(c, budget, keep)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if !keep {
				n.Content[i] = nil
			}
		}
		return list, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		b, err := strconv.ParseBool(n.Value)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not a boolean", n.Line, n.Value)
		}
		return b, nil
	case "!!int":
		if decimalInt.MatchString(n.Value) {
			text := n.Value
			if text[0] == '+' {
				text = text[1:]
			}
			return json.Number(text), nil
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not an integer", n.Line, n.Value)
		}
		return json.Number(strconv.FormatInt(i, 10)), nil
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %q is not a JSON number", n.Line, n.Value)
		}
		if json.Valid([]byte(n.Value)) {
			return json.Number(n.Value), nil
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return nil, fmt.Errorf("line %d: YAML tag %s is not supported", n.Line, n.Tag)
}
