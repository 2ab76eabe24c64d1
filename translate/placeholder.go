package translate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// A KFP placeholder such as {{$.inputs.parameters['lr']}} or {{$.outputs.artifacts["model"].path}}.
// An artifact's metadata may be followed by keys: {{$.inputs.artifacts['x'].metadata['a']['b']}}.
var placeholderRE = regexp.MustCompile(`^\$(?:\.(inputs|outputs)\.(parameters|artifacts)\[(?:'([^']*)'|"([^"]*)")\](?:\.([a-z_]+)((?:\[(?:'[^']*'|"[^"]*")\])*))?|\.([a-z_]+))?$`)

var placeholderKeyRE = regexp.MustCompile(`\[(?:'([^']*)'|"([^"]*)")\]`)

type placeholder struct {
	whole   bool   // {{$}}
	io      string // inputs | outputs
	kind    string // parameters | artifacts
	name    string
	attr    string   // path, uri, metadata, output_file, or ""
	keys    []string // metadata['a']['b']: a, b
	builtin string   // pipeline_job_name, ...
}

// executorOutputBuiltin stands for {{$.outputs.output_file}} (dsl.PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER),
// the path of the executor output file.
const executorOutputBuiltin = "outputs.output_file"

func parsePlaceholder(inner string) (placeholder, bool) {
	switch inner {
	case "$":
		return placeholder{whole: true}, true
	case "$." + executorOutputBuiltin:
		return placeholder{builtin: executorOutputBuiltin}, true
	}
	m := placeholderRE.FindStringSubmatch(inner)
	if m == nil {
		return placeholder{}, false
	}
	if m[7] != "" {
		return placeholder{builtin: m[7]}, true
	}
	name := m[3]
	if name == "" {
		name = m[4]
	}
	ph := placeholder{io: m[1], kind: m[2], name: name, attr: m[5]}
	for _, k := range placeholderKeyRE.FindAllStringSubmatch(m[6], -1) {
		ph.keys = append(ph.keys, k[1]+k[2])
	}
	if len(ph.keys) > 0 && ph.attr != "metadata" {
		return placeholder{}, false
	}
	return ph, true
}

// resolveFunc maps one placeholder to the Argo text that stands for it.
type resolveFunc func(ph placeholder, raw string) (string, error)

// resolveText replaces every KFP placeholder in s. The literal text around placeholders is made inert, so a
// "{{" that is not a KFP placeholder reaches the component verbatim instead of being evaluated by Argo.
func resolveText(s string, resolve resolveFunc) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{$")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			break
		}
		inner := s[i+2 : i+j]
		ph, ok := parsePlaceholder(inner)
		if !ok {
			return "", fmt.Errorf("unknown placeholder %q", s[i:i+j+2])
		}
		out, err := resolve(ph, s[i:i+j+2])
		if err != nil {
			return "", err
		}
		b.WriteString(inertBefore(s[:i]))
		b.WriteString(out)
		s = s[i+j+2:]
	}
	b.WriteString(inertText(s))
	return b.String(), nil
}

// structured is a command-line placeholder the SDK writes as a JSON string: {"Concat": [...]} or
// {"IfPresent": {"InputName": ..., "Then": ..., "Else": ...}}.
func parseStructured(s string) (map[string]any, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, `{"Concat"`) && !strings.HasPrefix(t, `{"IfPresent"`) {
		return nil, false
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(t), &v); err != nil || len(v) != 1 {
		return nil, false
	}
	return v, true
}

// expandArg resolves one command-line item into zero or more arguments. present tells whether an optional
// input is given to the task (IfPresent is decided per task, at compile time).
func expandArg(item any, resolve resolveFunc, present func(name string) (bool, error)) ([]string, error) {
	switch x := item.(type) {
	case string:
		if st, ok := parseStructured(x); ok {
			return expandArg(st, resolve, present)
		}
		s, err := resolveText(x, resolve)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	case map[string]any:
		if parts, ok := x["Concat"]; ok && len(x) == 1 {
			list, ok := parts.([]any)
			if !ok {
				return nil, fmt.Errorf("Concat: expected a list")
			}
			var b strings.Builder
			for _, p := range list {
				out, err := expandArg(p, resolve, present)
				if err != nil {
					return nil, err
				}
				joinInert(&b, strings.Join(out, ""))
			}
			return []string{b.String()}, nil
		}
		if body, ok := x["IfPresent"]; ok && len(x) == 1 {
			m, ok := body.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("IfPresent: expected an object")
			}
			name, _ := m["InputName"].(string)
			if name == "" {
				return nil, fmt.Errorf("IfPresent: InputName missing")
			}
			for k := range m {
				if k != "InputName" && k != "Then" && k != "Else" {
					return nil, fmt.Errorf("IfPresent: unknown field %q", k)
				}
			}
			ok, err := present(name)
			if err != nil {
				return nil, err
			}
			branch := m["Else"]
			if ok {
				branch = m["Then"]
			}
			return expandBranch(branch, resolve, present)
		}
		return nil, fmt.Errorf("unknown structured placeholder %v", keysOf(x))
	}
	return nil, fmt.Errorf("unexpected %s in a command line", jsonKind(item))
}

func expandBranch(branch any, resolve resolveFunc, present func(string) (bool, error)) ([]string, error) {
	switch b := branch.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []string
		for _, item := range b {
			parts, err := expandArg(item, resolve, present)
			if err != nil {
				return nil, err
			}
			out = append(out, parts...)
		}
		return out, nil
	}
	return expandArg(branch, resolve, present)
}

func keysOf(m map[string]any) []string { return sortedMapKeys(m) }

// usesIfPresent lists the inputs whose presence changes a command line, so templates vary only where needed.
func ifPresentInputs(items []string) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if st, ok := parseStructured(x); ok {
				walk(st)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if body, ok := x["IfPresent"].(map[string]any); ok {
				if n, ok := body["InputName"].(string); ok {
					seen[n] = true
				}
			}
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, it := range items {
		walk(it)
	}
	return sortedMapKeys(seen)
}
