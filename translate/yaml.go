package translate

import (
	"bytes"
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
	if sections := topLevelSections(raw); len(sections) > 1 {
		if obj, err := sectionsObject(sections); err == nil {
			return obj, nil
		}
		// Whatever is wrong is reported as reading the whole document reports it, with its line numbers.
	}
	return documentObject(raw)
}

// topLevelKey is a line that starts an entry of a document's top-level block mapping: a plain key at column 0.
var topLevelKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*:[ \n]`)

// topLevelSections cuts a document whose top is a block mapping into its entries, so that each is parsed
// alone: yaml.v3 builds the whole node tree of what it parses (about seven times the text) before anything can
// be converted, and the largest entry (deploymentSpec, 63% of the 10,000-task synthetic spec) is smaller than
// the whole. It cuts only where reading the whole document would start a new entry anyway: at a plain key at
// column 0, where every other line at column 0 is a comment, a "- " item of a compact list or the first
// line's "---". Where a cut lands inside an open flow collection or quoted text, the entry before it does not
// parse alone, and yamlObject reads the whole document (TestSectionsReadAsTheWholeDocument).
// nil: not a document it cuts.
func topLevelSections(raw []byte) [][]byte {
	var sections [][]byte
	start, first := 0, true
	for at := 0; at < len(raw); {
		end := bytes.IndexByte(raw[at:], '\n') + 1
		if end == 0 {
			end = len(raw) - at
		}
		line := raw[at : at+end]
		switch c := line[0]; {
		case c == ' ' || c == '\n' || c == '#':
		case topLevelKey.Match(line):
			if !first {
				sections = append(sections, raw[start:at])
				start = at
			}
			first = false
		case first && bytes.HasPrefix(line, []byte("---")) && at == 0:
		case !first && (bytes.HasPrefix(line, []byte("- ")) || string(line) == "-\n"):
		default:
			return nil
		}
		at += end
	}
	if first {
		return nil
	}
	return append(sections, raw[start:])
}

// sectionsObject reads the entries topLevelSections cut as one mapping; any error (a repeated key included)
// sends yamlObject back to the whole document.
func sectionsObject(sections [][]byte) (map[string]any, error) {
	obj := map[string]any{}
	budget := maxAliasExpansions
	for _, section := range sections {
		part, err := documentObjectWith(section, &budget)
		if err != nil {
			return nil, err
		}
		if len(part) != 1 {
			return nil, fmt.Errorf("a section holds %d entries", len(part))
		}
		for k, v := range part {
			if _, dup := obj[k]; dup {
				return nil, fmt.Errorf("key %q is repeated", k)
			}
			obj[k] = v
		}
	}
	return obj, nil
}

// documentObject reads one whole document.
func documentObject(raw []byte) (map[string]any, error) {
	budget := maxAliasExpansions
	return documentObjectWith(raw, &budget)
}

func documentObjectWith(raw []byte, budget *int) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	v, err := nodeValue(doc.Content[0], budget, false)
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
