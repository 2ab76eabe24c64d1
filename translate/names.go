package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	pipelineChannelPrefix = "pipelinechannel--"
	// maxArgoFieldName is Argo's limit for template and DAG task names (validate.workflowFieldMaxLength).
	maxArgoFieldName = 128
)

var (
	argoFieldName = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9]*$`)
	argoParamName = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)
	notFieldChar  = regexp.MustCompile(`[^-a-zA-Z0-9]+`)
	notParamChar  = regexp.MustCompile(`[^-a-zA-Z0-9_]+`)
)

// fieldName maps an IR name to an Argo template or task name. Valid names are kept, so Argo's node names read
// like the IR; others get the invalid runs replaced and a short hash of the original, so two IR names can't meet.
func fieldName(name string) string {
	if argoFieldName.MatchString(name) && len(name) <= maxArgoFieldName {
		return name
	}
	clean := strings.Trim(notFieldChar.ReplaceAllString(name, "-"), "-")
	return withHash(clean, name, maxArgoFieldName)
}

// paramName maps an IR parameter or artifact name to an Argo parameter/artifact name.
func paramName(name string) string {
	if argoParamName.MatchString(name) {
		return name
	}
	return withHash(notParamChar.ReplaceAllString(name, "_"), name, maxArgoFieldName)
}

func withHash(clean, original string, max int) string {
	sum := sha256.Sum256([]byte(original))
	suffix := hex.EncodeToString(sum[:])[:8]
	if clean == "" {
		clean = "x"
	}
	if len(clean) > max-len(suffix)-1 {
		clean = strings.TrimRight(clean[:max-len(suffix)-1], "-")
	}
	return clean + "-" + suffix
}

// generateName turns a pipeline name into a Workflow generateName prefix: lower-case DNS label characters,
// short enough that the API server's five random characters still fit in 63.
func generateName(pipeline string) string {
	n := strings.Trim(notFieldChar.ReplaceAllString(strings.ToLower(pipeline), "-"), "-")
	const max = validation.DNS1123LabelMaxLength - 6
	if len(n) > max {
		n = strings.TrimRight(n[:max], "-")
	}
	if n == "" {
		n = "pipeline"
	}
	return n + "-"
}

// LabelValue makes a valid label value of any text (63 characters, allowed charset); the real text is kept in
// an annotation next to it.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	clean := strings.Trim(regexp.MustCompile(`[^-_.a-zA-Z0-9]+`).ReplaceAllString(s, "-"), "-_.")
	v := withHash(clean, s, validation.LabelValueMaxLength)
	return strings.TrimLeft(v, "-_.")
}
