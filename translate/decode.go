package translate

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// decodeStrict fills out (a pointer to one of the IR structs) from a generic JSON value (decoded with UseNumber).
// encoding/json's DisallowUnknownFields reports an unknown field without saying where it is; this walk names the
// full IR path of every unknown field and wrong type, e.g. root.dag.tasks["train"].inputs.parameters["lr"].
// It consumes in: each value is dropped from its object or list once decoded, so that the generic tree and
// the IR built from it are not both held in full (a large spec's generic tree takes several times its text).
func decodeStrict(in any, out any, path string) error {
	return decodeValue(in, reflect.ValueOf(out).Elem(), path)
}

func decodeValue(in any, v reflect.Value, path string) error {
	if in == nil {
		// An explicit null leaves the Go zero value, like proto3 JSON.
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	switch v.Kind() {
	case reflect.Interface:
		v.Set(reflect.ValueOf(in))
		return nil
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(in, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		obj, ok := in.(map[string]any)
		if !ok {
			return pathErrorf(path, "expected an object, got %s", jsonKind(in))
		}
		fields := structFields(v.Type())
		for _, key := range sortedKeys(obj) {
			f, ok := fields[key]
			if !ok {
				return pathErrorf(joinField(path, key), "unknown field %q", key)
			}
			if f.unsupported != "" {
				if obj[key] == nil {
					continue
				}
				return unsupported(joinField(path, key), f.unsupported)
			}
			if err := decodeValue(obj[key], v.Field(f.index), joinField(path, key)); err != nil {
				return err
			}
			delete(obj, key)
		}
		return nil
	case reflect.Map:
		obj, ok := in.(map[string]any)
		if !ok {
			return pathErrorf(path, "expected an object, got %s", jsonKind(in))
		}
		m := reflect.MakeMapWithSize(v.Type(), len(obj))
		for _, key := range sortedKeys(obj) {
			elem := reflect.New(v.Type().Elem()).Elem()
			p := fmt.Sprintf("%s[%s]", path, strconv.Quote(key))
			if err := decodeValue(obj[key], elem, p); err != nil {
				return err
			}
			delete(obj, key)
			m.SetMapIndex(reflect.ValueOf(key), elem)
		}
		v.Set(m)
		return nil
	case reflect.Slice:
		list, ok := in.([]any)
		if !ok {
			return pathErrorf(path, "expected a list, got %s", jsonKind(in))
		}
		s := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, item := range list {
			if item == nil && v.Type().Elem().Kind() != reflect.Interface {
				// A repeated proto field holds no nulls; a null argument must not become an empty one.
				return pathErrorf(fmt.Sprintf("%s[%d]", path, i), "null is not allowed in a list")
			}
			if err := decodeValue(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
			list[i] = nil
		}
		v.Set(s)
		return nil
	case reflect.String:
		str, ok := in.(string)
		if !ok {
			return pathErrorf(path, "expected a string, got %s", jsonKind(in))
		}
		v.SetString(str)
		return nil
	case reflect.Bool:
		b, ok := in.(bool)
		if !ok {
			return pathErrorf(path, "expected true or false, got %s", jsonKind(in))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int64:
		n, err := jsonInt(in)
		if err != nil {
			return pathErrorf(path, "%v", err)
		}
		v.SetInt(n)
		return nil
	case reflect.Float64:
		f, err := jsonFloat(in)
		if err != nil {
			return pathErrorf(path, "%v", err)
		}
		v.SetFloat(f)
		return nil
	}
	return pathErrorf(path, "internal error: cannot decode into %s", v.Type())
}

// jsonInt accepts a JSON integer, and a string holding one: proto3 JSON writes int64 values as strings.
func jsonInt(in any) (int64, error) {
	var text string
	switch x := in.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = x
	default:
		return 0, fmt.Errorf("expected an integer, got %s", jsonKind(in))
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("expected an integer, got %q", text)
	}
	return n, nil
}

func jsonFloat(in any) (float64, error) {
	num, ok := in.(json.Number)
	if !ok {
		return 0, fmt.Errorf("expected a number, got %s", jsonKind(in))
	}
	f, err := num.Float64()
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("expected a number, got %q", num.String())
	}
	return f, nil
}

// structField is a JSON field of an IR struct; unsupported says why kfp-argo rejects it when it is set.
type structField struct {
	index       int
	unsupported string
}

func structFields(t reflect.Type) map[string]structField {
	fields := make(map[string]structField, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = structField{index: i, unsupported: t.Field(i).Tag.Get("unsupported")}
		}
	}
	return fields
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinField(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func jsonKind(in any) string {
	switch x := in.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case json.Number:
		return fmt.Sprintf("the number %s", x)
	}
	return fmt.Sprintf("%T", in)
}
