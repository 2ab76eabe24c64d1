package translate

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// protoDir holds KFP's current pipeline_spec.proto and kubernetes_executor_config.proto, beside the repository.
const protoDir = "../../shared/kfp-ir/proto"

type protoField struct {
	name, typ       string
	repeated, isMap bool
}

// protoMessages reads the messages of .proto files: full name (Outer.Inner) -> fields. It understands what
// KFP's files use: nested messages and enums, oneof, map<K, V>, repeated/optional, reserved and options.
func protoMessages(t *testing.T, files ...string) (map[string][]protoField, map[string]bool) {
	t.Helper()
	msgs := map[string][]protoField{}
	enums := map[string]bool{}
	tok := regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_.]*|[0-9]+|"[^"]*"|[{}=;<>,\[\]()]`)
	comments := regexp.MustCompile(`(?s)//[^\n]*|/\*.*?\*/`)
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(protoDir, f))
		if err != nil {
			t.Skipf("KFP's proto files not found in %s (they live in ../shared/kfp-ir/proto beside the repository): %v", protoDir, err)
		}
		toks := tok.FindAllString(comments.ReplaceAllString(string(raw), ""), -1)
		var scope []string // message names; "" for blocks that are not messages (oneof, enum, option)
		skipTo := func(i int, end string) int {
			for i < len(toks) && toks[i] != end {
				i++
			}
			return i
		}
		for i := 0; i < len(toks); i++ {
			switch toks[i] {
			case "syntax", "package", "import", "option", "reserved":
				i = skipTo(i, ";")
			case "message":
				scope = append(scope, toks[i+1])
				msgs[strings.Join(scope, ".")] = msgs[strings.Join(scope, ".")]
				i += 2
			case "enum":
				enums[strings.Join(append(append([]string(nil), scope...), toks[i+1]), ".")] = true
				depth := 0
				for i = i + 2; i < len(toks); i++ {
					if toks[i] == "{" {
						depth++
					} else if toks[i] == "}" {
						if depth--; depth == 0 {
							break
						}
					}
				}
			case "oneof":
				scope = append(scope, "")
				i += 2
			case "}":
				scope = scope[:len(scope)-1]
			case "service", "extend":
				t.Fatalf("%s: %s blocks are not expected", f, toks[i])
			default:
				fd := protoField{}
				if toks[i] == "repeated" || toks[i] == "optional" {
					fd.repeated = toks[i] == "repeated"
					i++
				}
				if toks[i] == "map" { // map < K , V > name = N ;
					fd.isMap, fd.typ = true, toks[i+4]
					i += 6
				} else {
					fd.typ = toks[i]
					i++
				}
				fd.name = toks[i]
				msg := ""
				for _, s := range scope {
					if s != "" {
						msg = strings.TrimPrefix(msg+"."+s, ".")
					}
				}
				msgs[msg] = append(msgs[msg], fd)
				i = skipTo(i, ";")
			}
		}
	}
	return msgs, enums
}

// resolve finds a field type's message the way protoc does: from the innermost enclosing scope outwards.
func resolve(msgs map[string][]protoField, from, typ string) (string, bool) {
	typ = strings.TrimPrefix(typ, "ml_pipelines.")
	parts := strings.Split(from, ".")
	for i := len(parts); i >= 0; i-- {
		name := strings.TrimPrefix(strings.Join(parts[:i], ".")+"."+typ, ".")
		if _, ok := msgs[name]; ok {
			return name, true
		}
	}
	return "", false
}

func lowerCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// protoOverrides are fields the proto types loosely (google.protobuf.Struct) that the IR model types: the
// message the Struct holds.
var protoOverrides = map[string]string{
	"PipelineSpec.deployment_spec":                    "PipelineDeploymentConfig",
	"SinglePlatformSpec.deployment_spec":              "PlatformDeploymentConfig",
	"PlatformDeploymentConfig.executors":              "KubernetesExecutorConfig",
	"PipelineDeploymentConfig.ExecutorSpec.container": "PipelineDeploymentConfig.PipelineContainerSpec",
}

// TestIRModelCoversTheProto: every field of every message reachable from PipelineSpec and PlatformSpec in
// KFP's current .proto files has a counterpart in the IR model (same JSON name), so a new SDK field fails here
// first instead of as "unknown field" in a user's pipeline. Fields the model deliberately does not compile are
// listed in the model with an `unsupported` tag (the decoder rejects them by name, "not supported by kfp-argo").
func TestIRModelCoversTheProto(t *testing.T) {
	msgs, enums := protoMessages(t, "pipeline_spec.proto", "kubernetes_executor_config.proto")
	var missing []string
	seen := map[string]bool{}
	var walk func(msg string, typ reflect.Type, path string)
	walk = func(msg string, typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		key := msg + "|" + typ.String()
		if seen[key] || typ.Kind() != reflect.Struct {
			return
		}
		seen[key] = true
		goFields := map[string]reflect.StructField{}
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			goFields[name] = typ.Field(i)
		}
		for _, f := range msgs[msg] {
			json := lowerCamel(f.name)
			gf, ok := goFields[json]
			if !ok {
				missing = append(missing, fmt.Sprintf("%s.%s (%s.%s)", msg, f.name, path, json))
				continue
			}
			target, ok := protoOverrides[msg+"."+f.name]
			if !ok {
				if enums[f.typ] || strings.HasPrefix(f.typ, "google.") {
					continue
				}
				if target, ok = resolve(msgs, msg, f.typ); !ok {
					continue // a scalar
				}
			}
			walk(target, gf.Type, path+"."+json)
		}
	}
	walk("PipelineSpec", reflect.TypeOf(PipelineSpec{}), "PipelineSpec")
	walk("PlatformSpec", reflect.TypeOf(PlatformSpec{}), "PlatformSpec")
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("proto field without a counterpart in the IR model: %s", m)
	}
	t.Logf("%d message/type pairs walked, %d fields missing", len(seen), len(missing))
}
