package translate

import (
	"bytes"
	"compress/flate"
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
	wrapper := wrapperProgram
	if c.artifactWrapper {
		wrapper = wrapperArtifactsProgram
	}
	for _, s := range []struct{ name, script, what string }{
		{WrapperParameter, wrapper, "Python wrapper"},
		{LauncherParameter, launcherScript, "container launcher"},
	} {
		if !c.runtimeScripts[s.name] {
			continue
		}
		args = append(args, wfv1.Parameter{
			Name:        s.name,
			Value:       wfv1.AnyStringPtr(s.script),
			Description: wfv1.AnyStringPtr("kfp-argo " + s.what + ", not a pipeline input"),
		})
	}
	return args, nil
}

// wrapperProgram is what `python3 -c` runs: the wrapper, compressed (raw deflate) and base85-encoded, run with
// exec in the same __main__ module, so the code that runs is the wrapper byte for byte. It is a third of the
// wrapper's size. Python's base85 alphabet (RFC 1924) holds five characters that JSON escapes or Argo reads
// ("&", "<", ">", "{", "}"), "%", which starts kfp-argo's own markers, and "$", which the kubelet expands in a
// command item ("$$" becomes "$"); they travel as characters outside the alphabet that need no escaping in JSON
// or YAML (",", ".", "/", ":", "[", "]", " "), and the program maps them back.
var (
	wrapperProgram          = compressedPython(wrapperScript)
	wrapperArtifactsProgram = compressedPython(wrapperArtifactsScript)
)

const b85Unsafe, b85Safe = "&<>{}%$", ",./:[] "

func compressedPython(src string) string {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err == nil {
		_, err = w.Write([]byte(src))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		// Writing to a bytes.Buffer with a valid level cannot fail.
		panic(err)
	}
	pairs := make([]string, 0, 2*len(b85Unsafe))
	for i := range b85Unsafe {
		pairs = append(pairs, b85Unsafe[i:i+1], b85Safe[i:i+1])
	}
	safe := strings.NewReplacer(pairs...)
	return "import base64,zlib;exec(zlib.decompress(base64.b85decode('" + safe.Replace(base85(buf.Bytes())) +
		"'.translate(str.maketrans('" + b85Safe + "','" + b85Unsafe + "'))),-15))"
}

// base85 is Python's base64.b85encode (RFC 1924 alphabet, no padding): each 4 bytes become 5 digits, most
// significant first; a last group of n bytes is padded with zeros and gives its first n+1 digits.
func base85(data []byte) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
	var out strings.Builder
	for i := 0; i < len(data); i += 4 {
		var group [4]byte
		n := copy(group[:], data[i:])
		v := uint32(group[0])<<24 | uint32(group[1])<<16 | uint32(group[2])<<8 | uint32(group[3])
		var digits [5]byte
		for d := 4; d >= 0; d-- {
			digits[d] = alphabet[v%85]
			v /= 85
		}
		out.Write(digits[:n+1])
	}
	return out.String()
}

// scriptStandIn is what a runtime script parameter holds in the copy of a workflow that Argo's validator checks.
const scriptStandIn = "kfp-argo-script"

// WithScriptStandIns returns spec with a short stand-in for the value of each runtime script parameter, for
// Argo's validator only (what is printed or submitted keeps the scripts). The validator renders every task's
// template with the workflow's parameters (text substitution into the template's JSON, then parsing it, twice
// per task), so the 4-5 KB of scripts cost about a fifth of validating a large pipeline. The outcome is the
// same with the stand-in: a script is a constant holding neither "{{" nor "}}" and is referenced only as a
// whole command item "{{workflow.parameters.NAME}}", with no enum or valueFrom (TestScriptStandInsValidateAlike),
// so the rendered templates have the same tags and the same structure whichever text is substituted, and the
// validator reads nothing else of the value. Only values equal to the scripts are replaced. The spec is a
// shallow copy: its parameter list is new, the rest is shared.
func WithScriptStandIns(spec wfv1.WorkflowSpec) wfv1.WorkflowSpec {
	params := make([]wfv1.Parameter, len(spec.Arguments.Parameters))
	copy(params, spec.Arguments.Parameters)
	for i, p := range params {
		if IsRuntimeParameter(p.Name) && p.Value != nil && (p.Value.String() == wrapperProgram || p.Value.String() == launcherScript) {
			params[i].Value = wfv1.AnyStringPtr(scriptStandIn)
		}
	}
	spec.Arguments.Parameters = params
	return spec
}
