package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kfp-argo/kfp-argo/translate"
)

// Record ConfigMap names. The dots cannot appear in an experiment's sanitized part or a run (Workflow)
// name's first label, so the prefixes never collide with each other.
const (
	experimentObjectPrefix = "kfp-argo.experiment."
	runObjectPrefix        = "kfp-argo.run."
)

// hashSuffixLen is the number of hex digits of sha256 appended to a sanitized value, enough that two
// different names sanitizing alike practically never collide, and Store checks the real value anyway.
const hashSuffixLen = 8

// LabelValue returns s if it is a valid label value, else a valid one derived from it, by the compiler's rule
// (translate.LabelValue): one algorithm, so that one selector finds a run's Workflow and its record.
func LabelValue(s string) string { return translate.LabelValue(s) }

// objectNamePart returns s if it is a valid DNS-1123 label (so it can follow a prefix in a ConfigMap
// name), else a lowercase sanitized form with a hash suffix, as LabelValue.
func objectNamePart(s string) string {
	if len(validation.IsDNS1123Label(s)) == 0 {
		return s
	}
	// The hash is of the original, so "Default" and "DEFAULT" stay apart.
	return sanitize(s, strings.ToLower(s), validation.DNS1123LabelMaxLength, func(r rune) bool {
		return (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-'
	})
}

// sanitize keeps the allowed characters of s, replaces the others and appends a hash of orig.
func sanitize(orig, s string, maxLen int, allowed func(rune) bool) string {
	sum := sha256.Sum256([]byte(orig))
	suffix := hex.EncodeToString(sum[:])[:hashSuffixLen]
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && allowed(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	body := trimNonAlnum(b.String())
	if limit := maxLen - hashSuffixLen - 1; len(body) > limit {
		body = trimNonAlnum(body[:limit])
	}
	if body == "" {
		return suffix
	}
	return body + "-" + suffix
}

func trimNonAlnum(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return !isAlnum(r) })
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// ExperimentRef is the form of an experiment's name that never has a space or other character a shell or
// a DNS name would trip on: the name itself when it is a DNS-1123 label, else the sanitized part of its
// object name (with its hash). `-o name` prints it; Store.ResolveExperiment accepts it back.
func ExperimentRef(experiment string) string { return objectNamePart(experiment) }

// ExperimentObjectName is the name of an experiment's ConfigMap.
func ExperimentObjectName(experiment string) string {
	return experimentObjectPrefix + objectNamePart(experiment)
}

// RunObjectName is the name of a run's ConfigMap.
func RunObjectName(run string) string { return runObjectPrefix + run }

// MaxRunNameLength is the longest run (Workflow) name: Argo's validator refuses longer Workflow names when
// its controller picks the Workflow up (validate.maxCharsInObjectName), long after the API server took it.
const MaxRunNameLength = 63

// ValidateRunName checks that name can be a Workflow name that Argo runs and, with its prefix, a ConfigMap
// name.
func ValidateRunName(name string) error {
	if err := validateRecordName(name); err != nil {
		return err
	}
	if len(name) > MaxRunNameLength {
		return fmt.Errorf("run name %.40q...: %d characters, Argo runs Workflows of at most %d", name, len(name), MaxRunNameLength)
	}
	return nil
}

// validateRecordName checks that name can name a run record: a Workflow name's syntax, and short enough for
// the ConfigMap name. Superseded runs' names (SupersededRunName) need only this.
func validateRecordName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("run name %q: %s", name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(RunObjectName(name)); len(errs) > 0 {
		return fmt.Errorf("run name %q is too long for its record name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// ValidateExperimentName accepts any printable text of reasonable length: experiments are named by people
// ("Default", "lr sweep 3"), and Kubernetes only ever sees their sanitized forms.
func ValidateExperimentName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("experiment name is empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("experiment name %.40q...: %d bytes, at most 253", name, len(name))
	}
	if !utf8.ValidString(name) {
		// JSON would turn the bad bytes into U+FFFD: the stored name would differ from every name a user can type.
		return fmt.Errorf("experiment name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("experiment name %q contains a control character", name)
		}
	}
	return nil
}

// SupersededRunName is the name under which the record of an earlier execution is kept once a Workflow of
// another UID took over its run name (re-created by GitOps or `argo submit`): the run name, a dot and the
// first 8 letters or digits of the earlier Workflow's UID. `submit` refuses a run name that has a record, so
// no later run takes it over.
func SupersededRunName(run, uid string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(uid) {
		if b.Len() == hashSuffixLen {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		b.WriteString("x")
	}
	return run + "." + b.String()
}

// ObjectNamePart is s as a DNS-1123 label by the rule of record names (s itself when valid, else lowercase
// with a hash of s), for other objects named after user text (pipeline versions' WorkflowTemplates).
func ObjectNamePart(s string) string { return objectNamePart(s) }
