package translate

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Argo evaluates {{...}} in every template field and again in every input parameter value it substitutes
// (workflow/common.SubstituteParams replaces globals over the whole template, input values included, before it
// replaces inputs). Argo has no escape for "{{". So user text that contains "{{" (component source, constants,
// parameter values, outputs) travels in an inert form, base64 between markers, and is decoded inside the pod by
// the kfp-argo launcher or wrapper. Text without "{{" travels as it is, so manifests stay readable.
const (
	inertPrefix = "%%kfpb64:"
	inertSuffix = "%%"
	// noneValue stands for an optional input that was not given: the inert form of nothing, which no real value
	// encodes to (the empty string travels as itself).
	noneValue = inertPrefix + inertSuffix
	// executorInputToken marks where the wrapper puts the ExecutorInput JSON ({{$}}).
	executorInputToken = "%%kfpexec%%"
)

// needsInert reports text that Argo would evaluate, or that the decoder would misread.
func needsInert(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "%%kfp")
}

// kubeletExpands reports a value that the kubelet could change in a command or args item or an env value,
// alone or with the text around it in the item: it reduces "$$" to "$" and replaces "$(NAME)" with the value
// of a variable the container defines. A value that starts with "$" or "(" or ends in "$" could form either
// with the text next to it.
func kubeletExpands(s string) bool {
	return strings.Contains(s, "$$") || strings.Contains(s, "$(") || strings.HasPrefix(s, "$") ||
		strings.HasPrefix(s, "(") || strings.HasSuffix(s, "$")
}

// needsInertValue reports a value (a parameter, constant, output or kfp-argo's own data) that must travel
// inert: besides what Argo evaluates, what the kubelet would expand, because KFP's launcher puts values into the
// command after the container started, where no kubelet reads them.
func needsInertValue(s string) bool {
	return needsInert(s) || kubeletExpands(s)
}

// inert returns the value s in a form neither Argo nor the kubelet changes; the pod side decodes it back.
func inert(s string) string {
	if !needsInertValue(s) {
		return s
	}
	return inertAlways(s)
}

// inertText is inert for the component's own text (its command and args around placeholders, its env values):
// under KFP that text is in the pod's spec, where the kubelet expands it, so only what Argo would evaluate is
// encoded and the kubelet reads the rest as it would under KFP.
func inertText(s string) string {
	if !needsInert(s) {
		return s
	}
	return inertAlways(s)
}

// inertAlways encodes s even when it holds no "{{" by itself: for a piece that forms "{{" with what follows.
func inertAlways(s string) string {
	return inertPrefix + base64.StdEncoding.EncodeToString([]byte(s)) + inertSuffix
}

// inertBefore makes literal text inert when it comes right before an Argo tag: a "{" at its end would form
// "{{{" with the tag, which Argo reads as a tag named "{inputs..." and leaves unresolved (an SDK f-string
// f"{{{x}}}" compiles to that).
func inertBefore(s string) string {
	if strings.HasSuffix(s, "{") {
		return inertAlways(s)
	}
	return inertText(s)
}

// joinInert appends the next piece of a Concat: pieces are inert or tags each, but a literal "{" at the end
// of one and a "{" at the start of the next would form "{{" together, so that "{" is encoded.
func joinInert(b *strings.Builder, next string) {
	if so := b.String(); strings.HasSuffix(so, "{") && strings.HasPrefix(next, "{") {
		b.Reset()
		b.WriteString(so[:len(so)-1])
		b.WriteString(inertAlways("{"))
	}
	b.WriteString(next)
}

// decodeInert is the Go twin of the pod-side decoders, used by tests and by the run records.
func decodeInert(s string) string {
	if !strings.Contains(s, inertPrefix) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, inertPrefix)
		if i < 0 {
			break
		}
		rest := s[i+len(inertPrefix):]
		j := strings.Index(rest, inertSuffix)
		if j < 0 {
			break
		}
		raw, err := base64.StdEncoding.DecodeString(rest[:j])
		if err != nil {
			break
		}
		b.WriteString(s[:i])
		b.Write(raw)
		s = rest[j+len(inertSuffix):]
	}
	b.WriteString(s)
	return b.String()
}

// DecodeValue returns the text a parameter value stands for (inert values decoded, the "not given" marker as
// ok=false). Run records and the CLI show values through it.
func DecodeValue(s string) (string, bool) {
	if s == noneValue {
		return "", false
	}
	return decodeInert(s), true
}

// Every user string that enters the manifest takes one of two ways: inert (above), for text that reaches the
// pod through an environment variable, an argument or a parameter value, where the launcher or wrapper decodes
// it; or checkVerbatim, for text Kubernetes or Argo reads as it is (an image, a name, a key, a path, an artifact
// location), where nothing could decode it: there, text Argo would evaluate is an error naming its IR path.
func checkVerbatim(path, s string) error {
	if strings.Contains(s, "{{") {
		return pathErrorf(path, "%q: Argo would evaluate the \"{{\" in this text, and it is used as it is (not decoded in the pod): remove the braces", s)
	}
	return nil
}

// checkVerbatimTree applies checkVerbatim to every string and map key of v, an IR message (the kfp-kubernetes
// platform spec, whose every field becomes part of the pod's spec as it is), with IR paths: message fields by
// their JSON names, map keys and list indexes in brackets.
func checkVerbatimTree(path string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkVerbatimTree(path, v.Elem())
	case reflect.String:
		return checkVerbatim(path, v.String())
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := checkVerbatimTree(fmt.Sprintf("%s[%d]", path, i), v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			p := fmt.Sprintf("%s[%q]", path, k.String())
			if err := checkVerbatim(p, k.String()); err != nil {
				return err
			}
			if err := checkVerbatimTree(p, v.MapIndex(k)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := checkVerbatimTree(path+"."+name, v.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}
