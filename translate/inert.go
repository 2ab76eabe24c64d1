package translate

import (
	"encoding/base64"
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

// inert returns s in a form Argo cannot evaluate; the pod side decodes it back.
func inert(s string) string {
	if !needsInert(s) {
		return s
	}
	return inertPrefix + base64.StdEncoding.EncodeToString([]byte(s)) + inertSuffix
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
