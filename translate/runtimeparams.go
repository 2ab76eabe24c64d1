package translate

import (
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// The runtime scripts travel once per workflow, as workflow parameters that each template's command names:
// Argo's controller substitutes {{workflow.parameters.x}} into the template when it creates the pod, so every pod
// still runs its script from its own command line, byte for byte, and the manifest holds one copy instead of
// one per template. They are not pipeline inputs: run records and submit leave them out.
const (
	RuntimeParameterPrefix = "kfp-argo-runtime-"
	WrapperParameter       = RuntimeParameterPrefix + "wrapper"
	LauncherParameter      = RuntimeParameterPrefix + "launcher"
)

// IsRuntimeParameter tells kfp-argo's own workflow parameters from pipeline inputs.
func IsRuntimeParameter(name string) bool { return strings.HasPrefix(name, RuntimeParameterPrefix) }

// runtimeScript returns the command-line item that runs script, remembering that the workflow needs it.
func (c *compiler) runtimeScript(param string) string {
	if c.runtimeScripts == nil {
		c.runtimeScripts = map[string]bool{}
	}
	c.runtimeScripts[param] = true
	return "{{workflow.parameters." + param + "}}"
}

// runtimeArguments appends the scripts the templates use to the workflow's arguments.
func (c *compiler) runtimeArguments(args []wfv1.Parameter) ([]wfv1.Parameter, error) {
	for _, a := range args {
		if IsRuntimeParameter(a.Name) {
			return nil, pathErrorf("root.inputDefinitions.parameters", "input %q: names starting with %q are kfp-argo's own workflow parameters; rename the input", a.Name, RuntimeParameterPrefix)
		}
	}
	for _, s := range []struct{ name, script, what string }{
		{WrapperParameter, wrapperScript, "Python wrapper"},
		{LauncherParameter, launcherScript, "container launcher"},
	} {
		if !c.runtimeScripts[s.name] {
			continue
		}
		args = append(args, wfv1.Parameter{
			Name:        s.name,
			Value:       wfv1.AnyStringPtr(s.script),
			Description: wfv1.AnyStringPtr(fmt.Sprintf("kfp-argo's %s that the pods run (not a pipeline input; do not change)", s.what)),
		})
	}
	return args, nil
}
