package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// canonicalValue renders a JSON value (decoded with UseNumber) as the Argo parameter string for an IR type: the
// raw text for STRING, JSON text for every other type. Integers never become 3.0 or 3e+06: the integer is
// checked and printed in full. This is the one encoding used end to end (DESIGN.md, "Parameter encoding").
func canonicalValue(typ string, v any) (string, error) {
	switch typ {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("expected a string, got %s", jsonKind(v))
		}
		return s, nil
	case TypeInteger:
		n, err := integerOf(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(n, 10), nil
	case TypeDouble:
		switch x := v.(type) {
		case json.Number:
			if _, err := x.Float64(); err != nil {
				return "", fmt.Errorf("expected a number, got %s", x)
			}
			return x.String(), nil
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return "", fmt.Errorf("expected a finite number, got %v", x)
			}
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
		return "", fmt.Errorf("expected a number, got %s", jsonKind(v))
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return "", fmt.Errorf("expected true or false, got %s", jsonKind(v))
		}
		return strconv.FormatBool(b), nil
	case TypeList:
		if _, ok := v.([]any); !ok {
			return "", fmt.Errorf("expected a list, got %s", jsonKind(v))
		}
		return compactJSON(protoNumbers(v))
	case TypeStruct, TypeTaskFinalStatus:
		if _, ok := v.(map[string]any); !ok {
			return "", fmt.Errorf("expected an object (struct), got %s", jsonKind(v))
		}
		return compactJSON(protoNumbers(v))
	}
	return "", fmt.Errorf("parameters of type %s take no value", typ)
}

func integerOf(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return n, nil
		}
		// YAML may have turned 3 into 3.0; accept a float only when it is a whole number in range.
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return 0, fmt.Errorf("expected an integer, got %s", x)
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
		return 0, fmt.Errorf("expected an integer, got %v", x)
	}
	return 0, fmt.Errorf("expected an integer, got %s", jsonKind(v))
}

func compactJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// ParseParameterText turns command-line text (-p name=value) into a value of the IR type, the way the KFP CLI
// reads values: JSON for lists, structs, numbers and booleans, the raw text for strings.
func ParseParameterText(typ, text string) (any, error) {
	switch typ {
	case TypeString:
		return text, nil
	case TypeInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected an integer, got %q", text)
		}
		return json.Number(strconv.FormatInt(n, 10)), nil
	case TypeDouble:
		t := strings.TrimSpace(text)
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("expected a number, got %q", text)
		}
		return json.Number(t), nil
	case TypeBoolean:
		switch strings.TrimSpace(text) {
		case "true", "True":
			return true, nil
		case "false", "False":
			return false, nil
		}
		return nil, fmt.Errorf("expected true or false, got %q", text)
	case TypeList, TypeStruct, TypeTaskFinalStatus:
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("expected JSON (%s), got %q: %v", strings.ToLower(typ), text, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("expected one JSON value, got %q", text)
		}
		return v, nil
	}
	return nil, fmt.Errorf("parameters of type %s cannot be set", typ)
}

// checkLiteral reports a value that is not one of a dsl.Literal input's allowed values (compared in their
// canonical form, so 1 and 1.0 of a NUMBER_DOUBLE are one value).
func checkLiteral(def *ParameterSpec, v any) error {
	if len(def.Literals) == 0 {
		return nil // the type is checked where the value is used
	}
	_, err := literalOf(def, v)
	return err
}

// literalOf returns the allowed value's canonical text that v is; v itself when the input has no literals.
func literalOf(def *ParameterSpec, v any) (string, error) {
	text, err := canonicalValue(def.ParameterType, v)
	if err != nil || len(def.Literals) == 0 {
		return text, err
	}
	allowed, err := literalTexts(def)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if sameLiteral(def.ParameterType, a, text) {
			return a, nil
		}
	}
	return "", fmt.Errorf("%s is not one of the allowed values %s", text, strings.Join(allowed, ", "))
}

// sameLiteral compares canonical texts; doubles by value (1, 1.0 and 1e0 are one value).
func sameLiteral(typ, a, b string) bool {
	if typ == TypeDouble {
		x, errX := strconv.ParseFloat(a, 64)
		y, errY := strconv.ParseFloat(b, 64)
		return errX == nil && errY == nil && x == y
	}
	return a == b
}

// literalTexts are the canonical texts of a dsl.Literal input's allowed values.
func literalTexts(def *ParameterSpec) ([]string, error) {
	out := make([]string, 0, len(def.Literals))
	for i, l := range def.Literals {
		t, err := canonicalValue(def.ParameterType, l)
		if err != nil {
			return nil, fmt.Errorf("literals[%d]: %w", i, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// legacyValue reads what KFP SDKs 2.0 to 2.9 meant by a default or constant written as a string for a typed
// parameter ("1000" for NUMBER_INTEGER, "0.5", "True", "[1, 2]"): the value of the type. Anything that does not
// parse stays as it is, so the type check that follows names it.
func legacyValue(typ string, v any) any {
	s, ok := v.(string)
	if !ok || typ == TypeString || strings.Contains(s, "{{$") {
		return v
	}
	if parsed, err := ParseParameterText(typ, s); err == nil {
		return parsed
	}
	return v
}

// protoNumber writes a number inside a LIST or STRUCT value the way KFP passes it at run time: such values are
// protobuf Values, whose numbers are doubles, so the SDK's [1.0, 2.0] arrives as [1, 2] (a loop over it gives
// the items 1 and 2, which int() reads) and 2.50 as 2.5. Integers written as integers keep their
// exact digits (kfp-argo does not round 2^53+1 through a double where the text says it is an integer).
func protoNumber(n json.Number) string {
	text := n.String()
	if !strings.ContainsAny(text, ".eE") {
		return text
	}
	f, err := n.Float64()
	if err != nil {
		return text
	}
	b, err := json.Marshal(f)
	if err != nil {
		return text
	}
	return string(b)
}

// protoNumbers applies protoNumber to every number inside a list or struct value.
func protoNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return json.Number(protoNumber(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = protoNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = protoNumbers(e)
		}
		return out
	}
	return v
}

// StandInValue is a value of an IR parameter type (text for STRING and unknown types), for checking a
// pipeline whose runs will be given real values: lint, and the tests that compile the corpus.
func StandInValue(irType, text string) any {
	switch irType {
	case "NUMBER_INTEGER":
		return 1
	case "NUMBER_DOUBLE":
		return 0.5
	case "BOOLEAN":
		return true
	case "LIST":
		return []any{}
	case "STRUCT":
		return map[string]any{}
	}
	return text
}
