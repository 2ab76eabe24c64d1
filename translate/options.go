package translate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// checkOptions validates the options that become names in the manifest (service account, namespace,
// generateName, artifact repository reference, labels, annotation keys). Kubernetes reads them as they are, so
// they must be valid names, which also keeps "{{" out of them: Argo would evaluate it in the spec, and nothing
// decodes a name.
func checkOptions(o Options) error {
	check := func(flag, value string, errs []string) error {
		if len(errs) > 0 {
			return fmt.Errorf("%s %q: %s", flag, value, strings.Join(errs, "; "))
		}
		return nil
	}
	var errs []error
	if o.ServiceAccount != "" {
		errs = append(errs, check("--service-account", o.ServiceAccount, validation.IsDNS1123Subdomain(o.ServiceAccount)))
	}
	if o.Namespace != "" {
		errs = append(errs, check("--namespace", o.Namespace, validation.IsDNS1123Label(o.Namespace)))
	}
	if o.GenerateName != "" {
		// The API server appends five characters to the prefix; the result must be a DNS subdomain.
		errs = append(errs, check("--generate-name", o.GenerateName, validation.IsDNS1123Subdomain(o.GenerateName+"x")))
	}
	if ref := o.ArtifactRepositoryRef; ref != "" {
		cm, key, found := strings.Cut(ref, "/")
		if found {
			errs = append(errs, check("--artifact-repository-ref", ref, validation.IsDNS1123Subdomain(cm)))
		} else {
			key = ref
		}
		if key != "" {
			errs = append(errs, check("--artifact-repository-ref", ref, validation.IsConfigMapKey(key)))
		}
	}
	for _, k := range sortedMapKeys(o.Labels) {
		errs = append(errs, check("--labels", k, validation.IsQualifiedName(k)), check("--labels", o.Labels[k], validation.IsValidLabelValue(o.Labels[k])))
	}
	for _, k := range sortedMapKeys(o.Annotations) {
		errs = append(errs, check("--annotations", k, validation.IsQualifiedName(k)))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
