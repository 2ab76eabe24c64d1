package translate

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Paths inside the pod (DESIGN.md, "Runtime contract"): everything kfp-argo adds lives under one root. The
// executor output file has a folder of its own: KFP's executor takes that folder as the task root, under which
// dsl.get_uri(suffix) puts pythonic artifacts, so that no suffix meets kfp-argo's own folders.
const (
	podRoot            = "/tmp/kfp"
	taskRoot           = podRoot + "/task"
	executorOutputFile = taskRoot + "/executor_output.json"
)

func paramFile(n string) string  { return podRoot + "/parameters/" + paramName(n) }
func inArtifact(n string) string { return podRoot + "/artifacts/in/" + paramName(n) + "/data" }

// outArtifact's file is named after the artifact: Argo's executor stores an output under the repository's key
// format joined with the file's base name, so two outputs of one pod must not share it.
func outArtifact(n string) string {
	return podRoot + "/artifacts/out/" + paramName(n) + "/" + paramName(n)
}
func metaFile(n string) string { return podRoot + "/meta/" + paramName(n) + ".json" }

var (
	//go:embed runtime/launcher.sh
	launcherSource string
	//go:embed runtime/wrapper.py
	wrapperSource string
	//go:embed runtime/wrapper_artifacts.py
	wrapperArtifactsSource string

	// The scripts go into the workflow once (runtimeparams.go): comments and blank lines are left in the sources,
	// and the Python's indentation is one space a level. The wrapper comes in two builds: with its artifact half
	// (before the rest, which calls it) for workflows where a Python component has artifacts, and without.
	launcherScript         = stripComments(launcherSource)
	wrapperScript          = compactPython(wrapperSource)
	wrapperArtifactsScript = compactPython(wrapperArtifactsSource + wrapperSource)
)

// stripComments drops full-line comments and blank lines; neither script has multi-line strings.
func stripComments(src string) string {
	var out []string
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// compactPython drops what stripComments drops and shortens each indentation level from four spaces to one. The
// wrapper has no multi-line strings and indents by four; lines continued inside brackets may indent otherwise,
// where Python ignores indentation (TestCompactPythonKeepsTheCode compares the syntax trees).
func compactPython(src string) string {
	lines := strings.Split(strings.TrimSuffix(stripComments(src), "\n"), "\n")
	for i, line := range lines {
		body := strings.TrimLeft(line, " ")
		lines[i] = strings.Repeat(" ", (len(line)-len(body))/4) + body
	}
	return strings.Join(lines, "\n") + "\n"
}

// metricsSchemas are artifact types whose content is their metadata: they may have no file, as in KFP.
var metricsSchemas = map[string]bool{
	"system.Metrics":                     true,
	"system.ClassificationMetrics":       true,
	"system.SlicedClassificationMetrics": true,
}

// contract is what the Python wrapper cannot derive: the pod's root folder and the inputs and outputs with
// their types and paths. The wrapper builds the static half of the ExecutorInput from it (output files, output
// artifacts), the executor output file (<root>/task/executor_output.json) and the folders to create; an input's
// value comes in KFP_ARGO_IN_<n> or KFP_ARGO_AM_<n>, n its place in Parameters or Artifacts. It travels in every
// Python template, so it holds nothing derivable.
type contract struct {
	Root             string            `json:"root"`
	Parameters       []contractParam   `json:"parameters,omitempty"`
	Artifacts        []contractArt     `json:"artifacts,omitempty"`
	OutputParameters []contractOutParm `json:"outputParameters,omitempty"`
	OutputArtifacts  []contractOutArt  `json:"outputArtifacts,omitempty"`
	// TokenArgs are the indexes of the command-line items (the component's command, then its args) where
	// kfp-argo put the ExecutorInput or artifact-list tokens: the wrapper replaces tokens there only, never in
	// values (which carry "%%kfp" only in inert form anyway).
	TokenArgs []int `json:"tokenArgs,omitempty"`
}

type contractParam struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type contractArt struct {
	Name          string `json:"name"`
	Path          string `json:"path"`
	SchemaTitle   string `json:"schemaTitle"`
	SchemaVersion string `json:"schemaVersion,omitempty"`
	List          bool   `json:"list,omitempty"`
}

type contractOutParm struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
}

type contractOutArt struct {
	Name          string `json:"name"`
	URIEnv        string `json:"uriEnv,omitempty"`
	Path          string `json:"path"`
	MetaPath      string `json:"metaPath"`
	SchemaTitle   string `json:"schemaTitle"`
	SchemaVersion string `json:"schemaVersion,omitempty"`
}

// containerTemplate returns the name of the template that runs a container component, creating it on first
// use. Tasks share a template unless caching or the inputs an IfPresent placeholder tests differ.
func (c *compiler) containerTemplate(compName string, comp *ComponentSpec, ctr *ContainerSpec, cache *CachingOptions, given, modelCars map[string]bool, retry *RetryPolicy, pc *podConfig, tp string) (string, error) {
	ep := fmt.Sprintf("deploymentSpec.executors[%q].container", comp.ExecutorLabel)
	if ctr.Lifecycle != nil {
		return "", unsupported(ep+".lifecycle", "container lifecycle hooks")
	}
	items := append(append([]string(nil), ctr.Command...), ctr.Args...)
	tested := ifPresentInputs(items)
	// A task whose outputs are collected writes them under its own prefix: a template of its own.
	collect := c.collect[tp]
	key := fmt.Sprintf("%s|cache=%s|retry=%s|platform=%s|collect=%s|oci=%s", compName, digestOf(cache), digestOf(retry), pc.key, digestOf(collect), digestOf(modelCars))
	for _, n := range tested {
		if inputParam(comp, n) == nil && inputArtifact(comp, n) == nil {
			return "", pathErrorf(ep, "IfPresent names %q, which is not an input of component %q", n, compName)
		}
		key += fmt.Sprintf("|%s=%v", n, given[n])
	}
	if name, ok := c.variants[key]; ok {
		return name, nil
	}
	name := c.reserveName(compName)
	c.variants[key] = name

	tmpl, err := c.buildContainer(name, compName, comp, ctr, given, collect, modelCars, ep)
	if err != nil {
		return "", err
	}
	if err := pc.apply(&tmpl); err != nil {
		return "", err
	}
	if cache != nil {
		tmpl.Memoize = c.memoize(compName, comp, ctr, tmpl, cache.CacheKey)
	}
	if err := applyRetry(&tmpl, retry, tp); err != nil {
		return "", err
	}
	c.templates = append(c.templates, tmpl)
	return name, nil
}

// applyRetry sets a template's retryStrategy from the task's (or inherited) retry policy.
func applyRetry(tmpl *wfv1.Template, retry *RetryPolicy, tp string) error {
	if retry == nil {
		return nil
	}
	rs, err := retryStrategy(retry)
	if err != nil {
		return pathErrorf(tp+".retryPolicy", "%v", err)
	}
	tmpl.RetryStrategy = rs
	return nil
}

func (c *compiler) buildContainer(name, compName string, comp *ComponentSpec, ctr *ContainerSpec, given map[string]bool, collect map[string]string, modelCars map[string]bool, ep string) (wfv1.Template, error) {
	tmpl := wfv1.Template{Name: name}
	in := comp.InputDefinitions
	if in == nil {
		in = &InputsSpec{}
	}
	out := comp.OutputDefinitions
	if out == nil {
		out = &OutputsSpec{}
	}
	// The Python wrapper builds what only exists at run time: the ExecutorInput ({{$}}) and the JSON of an
	// artifact list; a component that uses either runs under it (and needs python3 in its image).
	python := false
	for _, s := range append(append([]string(nil), ctr.Command...), ctr.Args...) {
		if strings.Contains(s, "{{$}}") || listPlaceholderRE.MatchString(s) {
			python = true
		}
	}
	ct := contract{Root: podRoot}
	mkdirs := map[string]bool{}
	var env []apiv1.EnvVar

	for _, n := range sortedMapKeys(in.Parameters) {
		def := in.Parameters[n]
		p, err := templateInput(n, def)
		if err != nil {
			return tmpl, err
		}
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, p)
		if python {
			envName := fmt.Sprintf("KFP_ARGO_IN_%d", len(ct.Parameters))
			ct.Parameters = append(ct.Parameters, contractParam{Name: n, Type: def.ParameterType})
			env = append(env, apiv1.EnvVar{Name: envName, Value: "{{inputs.parameters." + p.Name + "}}"})
		}
	}
	if usesTaskName(ctr) {
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: taskNameParameter})
	}
	var modelMounts []apiv1.VolumeMount
	for _, n := range sortedMapKeys(in.Artifacts) {
		def := in.Artifacts[n]
		path := inArtifact(n)
		if def.IsArtifactList {
			if !python {
				return tmpl, unsupported(fmt.Sprintf("%s: input artifact %q", ep, n), "artifact lists in container components that do not use the list placeholder")
			}
			// The collected items arrive as one folder, one entry per producing pod.
			path = strings.TrimSuffix(path, "/data")
		}
		if modelCars[n] {
			// A model car: an init container runs the model image and copies its /models into a volume the
			// component reads; the artifact is that folder.
			path = strings.TrimSuffix(path, "/data")
			vol := "kfp-argo-oci-" + strings.ToLower(fieldName(n))
			ip := wfv1.Parameter{Name: modelCarParameterPrefix + paramName(n)}
			tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, ip)
			tmpl.Volumes = append(tmpl.Volumes, apiv1.Volume{Name: vol, VolumeSource: apiv1.VolumeSource{EmptyDir: &apiv1.EmptyDirVolumeSource{}}})
			tmpl.InitContainers = append(tmpl.InitContainers, wfv1.UserContainer{Container: apiv1.Container{
				Name:         vol,
				Image:        "{{inputs.parameters." + ip.Name + "}}",
				Command:      []string{"sh", "-c", "cp -R /models/. /kfp-argo-model/"},
				VolumeMounts: []apiv1.VolumeMount{{Name: vol, MountPath: "/kfp-argo-model"}},
			}})
			modelMounts = append(modelMounts, apiv1.VolumeMount{Name: vol, MountPath: path, ReadOnly: true})
		} else {
			tmpl.Inputs.Artifacts = append(tmpl.Inputs.Artifacts, wfv1.Artifact{Name: paramName(n), Path: path, Optional: def.IsOptional})
		}
		mp := wfv1.Parameter{Name: MetadataParameterPrefix + paramName(n)}
		if def.IsOptional {
			mp.Default = wfv1.AnyStringPtr(noneValue)
		}
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, mp)
		if python {
			envName := fmt.Sprintf("KFP_ARGO_AM_%d", len(ct.Artifacts))
			ct.Artifacts = append(ct.Artifacts, contractArt{Name: n, Path: path, SchemaTitle: def.ArtifactType.SchemaTitle, SchemaVersion: def.ArtifactType.SchemaVersion, List: def.IsArtifactList})
			env = append(env, apiv1.EnvVar{Name: envName, Value: "{{inputs.parameters." + mp.Name + "}}"})
		}
	}
	var outFiles []string
	for _, n := range sortedMapKeys(out.Parameters) {
		def := out.Parameters[n]
		outFiles = append(outFiles, def.ParameterType+":"+paramFile(n))
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: paramName(n), ValueFrom: &wfv1.ValueFrom{Path: paramFile(n)}})
		mkdirs[podRoot+"/parameters"] = true
		ct.OutputParameters = append(ct.OutputParameters, contractOutParm{Name: n, Type: def.ParameterType, Path: paramFile(n)})
	}
	outURIs := map[string]string{}
	var metaFiles []string
	for _, n := range sortedMapKeys(out.Artifacts) {
		def := out.Artifacts[n]
		if def.IsArtifactList {
			// Argo uploads one artifact per output path; KFP's executor would return several (-> List[Dataset]).
			return tmpl, unsupported(fmt.Sprintf("components[%q].outputDefinitions.artifacts[%q].isArtifactList", compName, n), "artifact list outputs of an executor")
		}
		oa := wfv1.Artifact{
			Name:     paramName(n),
			Path:     outArtifact(n),
			Archive:  &wfv1.ArchiveStrategy{None: &wfv1.NoneStrategy{}},
			Optional: metricsSchemas[def.ArtifactType.SchemaTitle],
		}
		uri := ""
		if prefix, ok := collect[n]; ok {
			oa.S3 = &wfv1.S3Artifact{Key: prefix + "/{{pod.name}}"}
			if c.store != nil && c.store.scheme != "gs" {
				uri = c.store.uri(oa.S3.Key)
			}
		} else if c.store != nil {
			// With the repository known, the key is fixed here so that the URI components see is where Argo
			// uploads (a key-only location: Argo takes the rest from the repository).
			oa.ArtifactLocation, uri = c.store.output(n)
		}
		tmpl.Outputs.Artifacts = append(tmpl.Outputs.Artifacts, oa)
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{
			Name:      MetadataParameterPrefix + paramName(n),
			ValueFrom: &wfv1.ValueFrom{Path: metaFile(n), Default: wfv1.AnyStringPtr("{}")},
		})
		mkdirs[podRoot+"/artifacts/out/"+paramName(n)] = true
		mkdirs[podRoot+"/meta"] = true
		metaFiles = append(metaFiles, metaFile(n)+"|"+uri)
		outURIs[n] = uri
		oc := contractOutArt{Name: n, Path: outArtifact(n), MetaPath: metaFile(n), SchemaTitle: def.ArtifactType.SchemaTitle, SchemaVersion: def.ArtifactType.SchemaVersion}
		if uri != "" && python {
			oc.URIEnv = fmt.Sprintf("KFP_ARGO_OUT_URI_%d", len(ct.OutputArtifacts))
			env = append(env, apiv1.EnvVar{Name: oc.URIEnv, Value: uri})
		}
		ct.OutputArtifacts = append(ct.OutputArtifacts, oc)
	}

	resolve := c.templateResolver(comp, python, modelCars, outURIs, ep)
	present := func(n string) (bool, error) { return given[n], nil }
	var command, args []string
	for i, s := range ctr.Command {
		parts, err := expandArg(s, resolve, present)
		if err != nil {
			return tmpl, withPath(fmt.Sprintf("%s.command[%d]", ep, i), err)
		}
		command = append(command, parts...)
	}
	for i, s := range ctr.Args {
		parts, err := expandArg(s, resolve, present)
		if err != nil {
			return tmpl, withPath(fmt.Sprintf("%s.args[%d]", ep, i), err)
		}
		args = append(args, parts...)
	}
	var decodeEnv []string
	for i, e := range ctr.Env {
		// The launcher reads these variables by name in shell code: only C identifiers are names there.
		if !envName.MatchString(e.Name) {
			return tmpl, pathErrorf(fmt.Sprintf("%s.env[%d].name", ep, i), "%q: an environment variable name must be a C identifier ([A-Za-z_][A-Za-z0-9_]*)", e.Name)
		}
		v := inertText(e.Value)
		if v != e.Value {
			decodeEnv = append(decodeEnv, e.Name)
		}
		env = append(env, apiv1.EnvVar{Name: e.Name, Value: v})
	}
	if len(out.Artifacts) > 0 && (python || len(command) > 0) {
		// The metadata documents name the producing pod: Argo's pod name, which the hostname is only the first
		// 63 characters of.
		env = append(env, apiv1.EnvVar{Name: "KFP_ARGO_POD", Value: "{{pod.name}}"})
	}
	if err := checkVerbatim(ep+".image", ctr.Image); err != nil {
		return tmpl, err
	}
	container := &apiv1.Container{Image: ctr.Image}
	switch {
	case python:
		for i, a := range append(append([]string(nil), command...), args...) {
			if strings.Contains(a, executorInputToken) || strings.Contains(a, listTokenPrefix) {
				ct.TokenArgs = append(ct.TokenArgs, i)
			}
		}
		blob, err := json.Marshal(ct)
		if err != nil {
			return tmpl, err
		}
		env = append(env, apiv1.EnvVar{Name: "KFP_ARGO_CONTRACT", Value: inert(string(blob))})
		if len(decodeEnv) > 0 {
			env = append(env, apiv1.EnvVar{Name: "KFP_ARGO_DECODE_ENV", Value: strings.Join(decodeEnv, " ")})
		}
		if len(ct.Artifacts) > 0 || len(ct.OutputArtifacts) > 0 {
			c.artifactWrapper = true
		}
		container.Command = append([]string{"python3", "-c", c.runtimeScript(WrapperParameter)}, command...)
		container.Args = args
	case len(command) > 0:
		container.Command = append([]string{"sh", "-c", c.runtimeScript(LauncherParameter), "kfp-argo"}, command...)
		container.Args = args
		for _, kv := range []struct {
			name   string
			values []string
		}{{"KFP_ARGO_MKDIRS", sortedMapKeys(mkdirs)}, {"KFP_ARGO_META_FILES", metaFiles}, {"KFP_ARGO_DECODE_ENV", decodeEnv}, {"KFP_ARGO_OUT_PARAMS", outFiles}} {
			if len(kv.values) > 0 {
				env = append(env, apiv1.EnvVar{Name: kv.name, Value: strings.Join(kv.values, " ")})
			}
		}
	default:
		// No command: the image's entrypoint runs, so nothing of ours can run before it. Output folders must
		// then exist in the image, and values cannot be decoded.
		for i, a := range args {
			if strings.Contains(a, inertPrefix) {
				return tmpl, pathErrorf(fmt.Sprintf("%s.args[%d]", ep, i), "text with \"{{\" cannot be passed verbatim to a container without a command")
			}
		}
		for _, n := range decodeEnv {
			for i, e := range ctr.Env {
				if e.Name == n {
					return tmpl, pathErrorf(fmt.Sprintf("%s.env[%d].value", ep, i), "text with \"{{\" cannot be passed verbatim to a container without a command")
				}
			}
		}
		container.Args = args
	}
	container.Env = env
	container.VolumeMounts = append(container.VolumeMounts, modelMounts...)
	if ctr.Resources != nil {
		res, patch, err := containerResources(ctr.Resources, ep+".resources")
		if err != nil {
			return tmpl, err
		}
		container.Resources = res
		if a := ctr.Resources.Accelerator; a != nil {
			kind := a.ResourceType
			if kind == "" {
				kind = a.Type
			}
			if _, label, ok := gkeAccelerator(kind); ok {
				tmpl.NodeSelector = map[string]string{gkeAcceleratorLabel: label}
			}
		}
		if patch != "" {
			tmpl.PodSpecPatch = patch
			for _, n := range resourceInputs(ctr) {
				if inputParam(comp, n) == nil {
					tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: paramName(n)})
				}
			}
		}
	}
	tmpl.Container = container
	return tmpl, nil
}

// envName is what the launcher can read by name: a C identifier.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// gkeAcceleratorLabel is the node label GKE puts on GPU nodes: with a GPU type named the way Vertex AI names
// them (NVIDIA_TESLA_T4), KFP pipelines pick both the GPU resource and the node with that label.
const gkeAcceleratorLabel = "cloud.google.com/gke-accelerator"

var gkeAcceleratorName = regexp.MustCompile(`^NVIDIA_[A-Z0-9_]+$`)

// gkeAccelerator maps a Vertex-style GPU name to the Kubernetes resource and the GKE node label value
// (NVIDIA_TESLA_T4 -> nvidia.com/gpu, nvidia-tesla-t4).
func gkeAccelerator(kind string) (resource, label string, ok bool) {
	if !gkeAcceleratorName.MatchString(kind) {
		return "", "", false
	}
	return "nvidia.com/gpu", strings.ToLower(strings.ReplaceAll(kind, "_", "-")), true
}

// wholeInputPlaceholder matches a value that is exactly one input placeholder, as the SDK writes resource
// values taken from pipeline parameters or task outputs.
var wholeInputPlaceholder = regexp.MustCompile(`^\{\{\$\.inputs\.parameters\[(?:'([^']*)'|"([^"]*)")\]\}\}$`)

func placeholderInput(v string) (string, bool) {
	m := wholeInputPlaceholder.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	return m[1] + m[2], true
}

// resourceInputs lists the task inputs a container's resource values are taken from.
func resourceInputs(ctr *ContainerSpec) []string {
	r := ctr.Resources
	if r == nil {
		return nil
	}
	fields := []string{r.ResourceCPULimit, r.ResourceMemoryLimit, r.ResourceCPURequest, r.ResourceMemoryRequest}
	if r.Accelerator != nil {
		fields = append(fields, r.Accelerator.ResourceType, r.Accelerator.ResourceCount)
	}
	set := map[string]bool{}
	for _, f := range fields {
		if n, ok := placeholderInput(f); ok {
			set[n] = true
		}
	}
	return sortedMapKeys(set)
}

// containerResources maps IR resources to Kubernetes ones. The SDK writes both the string fields (resourceCpuLimit)
// and the legacy numbers (cpuLimit, memory in GB); the strings win. Values taken from inputs are only known at
// run time: they go into a podSpecPatch that Argo renders per task and merges into the pod.
func containerResources(r *ResourceSpec, ep string) (apiv1.ResourceRequirements, string, error) {
	var out apiv1.ResourceRequirements
	dynamic := map[string]map[string]string{}
	set := func(list *apiv1.ResourceList, group string, name apiv1.ResourceName, text string, legacy float64, unit, field string) error {
		if text == "" && legacy != 0 {
			text = strconv.FormatFloat(legacy, 'f', -1, 64) + unit
		}
		if text == "" {
			return nil
		}
		if n, ok := placeholderInput(text); ok {
			if dynamic[group] == nil {
				dynamic[group] = map[string]string{}
			}
			dynamic[group][string(name)] = "{{inputs.parameters." + paramName(n) + "}}"
			return nil
		}
		if strings.Contains(text, "{{") {
			return unsupported(ep+"."+field, "resource values that mix text and placeholders")
		}
		q, err := resource.ParseQuantity(text)
		if err != nil {
			return pathErrorf(ep+"."+field, "invalid quantity %q: %v", text, err)
		}
		if *list == nil {
			*list = apiv1.ResourceList{}
		}
		(*list)[name] = q
		return nil
	}
	steps := []error{
		set(&out.Limits, "limits", apiv1.ResourceCPU, r.ResourceCPULimit, r.CPULimit, "", "resourceCpuLimit"),
		set(&out.Limits, "limits", apiv1.ResourceMemory, r.ResourceMemoryLimit, r.MemoryLimit, "G", "resourceMemoryLimit"),
		set(&out.Requests, "requests", apiv1.ResourceCPU, r.ResourceCPURequest, r.CPURequest, "", "resourceCpuRequest"),
		set(&out.Requests, "requests", apiv1.ResourceMemory, r.ResourceMemoryRequest, r.MemoryRequest, "G", "resourceMemoryRequest"),
	}
	for _, err := range steps {
		if err != nil {
			return out, "", err
		}
	}
	if a := r.Accelerator; a != nil {
		kind := a.ResourceType
		if kind == "" {
			kind = a.Type
		}
		count := a.ResourceCount
		if count == "" && a.Count != 0 {
			count = strconv.FormatInt(a.Count, 10)
		}
		if kind == "" || count == "" {
			return out, "", pathErrorf(ep+".accelerator", "an accelerator needs a type and a count")
		}
		if n, ok := placeholderInput(kind); ok {
			kind = "{{inputs.parameters." + paramName(n) + "}}"
			if _, ok := placeholderInput(count); !ok && strings.Contains(count, "{{") {
				return out, "", unsupported(ep+".accelerator.resourceCount", "resource values that mix text and placeholders")
			}
			if n, ok := placeholderInput(count); ok {
				count = "{{inputs.parameters." + paramName(n) + "}}"
			}
			if dynamic["limits"] == nil {
				dynamic["limits"] = map[string]string{}
			}
			dynamic["limits"][kind] = count
		} else {
			if strings.Contains(kind, "{{") {
				return out, "", unsupported(ep+".accelerator.resourceType", "resource values that mix text and placeholders")
			}
			if gpu, _, ok := gkeAccelerator(kind); ok {
				kind = gpu
			}
			if errs := validation.IsQualifiedName(kind); len(errs) > 0 || !strings.Contains(kind, "/") {
				return out, "", unsupported(ep+".accelerator.resourceType", fmt.Sprintf("accelerator type %q (kfp-argo needs a Kubernetes extended resource name such as nvidia.com/gpu)", kind))
			}
			// Extended resources are set as limits; Kubernetes copies them to requests.
			if err := set(&out.Limits, "limits", apiv1.ResourceName(kind), count, 0, "", "accelerator.resourceCount"); err != nil {
				return out, "", err
			}
		}
	}
	if len(dynamic) == 0 {
		return out, "", nil
	}
	patch, err := json.Marshal(map[string]any{"containers": []any{map[string]any{"name": "main", "resources": dynamic}}})
	return out, string(patch), err
}

// usesTaskName tells whether a command line reads {{$.pipeline_task_name}}: its template then takes the task's
// name as an input.
func usesTaskName(ctr *ContainerSpec) bool {
	for _, s := range append(append([]string(nil), ctr.Command...), ctr.Args...) {
		if strings.Contains(s, "{{$.pipeline_task_name}}") {
			return true
		}
	}
	return false
}

// inputURI is the Argo text of an input artifact's URI: the one its metadata document names (the producer's
// upload location, an importer's URI), or the local path when the document names none.
func inputURI(n string) string {
	return fmt.Sprintf("{{=sprig.default(%s, sprig.dig('uri', '', %s))}}", exprString(inArtifact(n)), inputDocExpr(n))
}

// inputDocExpr is an expr-lang value: the metadata document of input artifact n, decoded when it travels inert.
func inputDocExpr(n string) string {
	m := fmt.Sprintf("inputs.parameters[%s]", exprString(MetadataParameterPrefix+paramName(n)))
	// The marker is spelled in two parts: the argument must not look inert before Argo renders it.
	marker := fmt.Sprintf("('%s' + '%s')", inertPrefix[:5], inertPrefix[5:])
	return fmt.Sprintf("fromJSON(%[1]s startsWith %[2]s ? sprig.b64dec(sprig.trimSuffix('%[3]s', sprig.trimPrefix(%[2]s, %[1]s))) : %[1]s)", m, marker, inertSuffix)
}

// inputMetadata is the Argo text of {{$.inputs.artifacts['n'].metadata}} (the metadata as JSON) or of
// ...metadata['a']['b'] (that field: a string as it is, any other value as JSON, "" when it is not there), read
// from the metadata document that travels with the artifact. KFP's own launcher leaves these to Vertex AI,
// which substitutes fields of the artifact's metadata the same way.
func inputMetadata(n string, keys []string) string {
	doc := inputDocExpr(n)
	if len(keys) == 0 {
		return fmt.Sprintf("{{=toJson(sprig.dig('metadata', sprig.dict(), %s))}}", doc)
	}
	path := "'metadata'"
	for _, k := range keys {
		path += ", " + exprString(k)
	}
	v := fmt.Sprintf("sprig.dig(%s, '', %s)", path, doc)
	return fmt.Sprintf("{{=sprig.kindIs('string', %[1]s) ? %[1]s : toJson(%[1]s)}}", v)
}

// listPlaceholderRE finds the whole-list placeholder of an input artifact list, {{$.inputs.artifacts['x']}}.
var listPlaceholderRE = regexp.MustCompile(`\{\{\$\.inputs\.artifacts\[(?:'[^']*'|"[^"]*")\]\}\}`)

// listToken marks where the wrapper puts the JSON list of an artifact list input's artifacts.
func listToken(name string) string { return listTokenPrefix + name + "%%" }

const listTokenPrefix = "%%kfplist:"

// templateResolver maps placeholders of a component's command line to Argo text inside its template.
func (c *compiler) templateResolver(comp *ComponentSpec, python bool, modelCars map[string]bool, outURIs map[string]string, ep string) resolveFunc {
	return func(ph placeholder, raw string) (string, error) {
		switch {
		case ph.whole:
			return executorInputToken, nil
		case ph.builtin != "":
			switch ph.builtin {
			case "pipeline_job_name", "pipeline_job_resource_name":
				return "{{workflow.name}}", nil
			case "pipeline_job_uuid":
				return "{{workflow.uid}}", nil
			case "pipeline_task_uuid":
				return "{{pod.name}}", nil
			case "pipeline_task_name":
				return "{{inputs.parameters." + taskNameParameter + "}}", nil
			case "workspace_path":
				return c.workspacePath(ep)
			case executorOutputBuiltin:
				// The wrapper reads the executor output file after the command; the launcher of a container
				// component reads output files only.
				if python {
					return executorOutputFile, nil
				}
				return "", unsupported(ep, "{{$.outputs.output_file}} in a container component that does not use {{$}} (kfp-argo reads an executor output file only for components run with the ExecutorInput)")
			}
			if v, ok, err := c.runBuiltin(ph.builtin, ep); ok || err != nil {
				return v, err
			}
			return "", unsupportedBuiltin(ph.builtin, ep)
		case ph.io == "inputs" && ph.kind == "parameters":
			if inputParam(comp, ph.name) == nil || ph.attr != "" {
				return "", fmt.Errorf("placeholder %s: no input parameter %q", raw, ph.name)
			}
			return "{{inputs.parameters." + paramName(ph.name) + "}}", nil
		case ph.io == "inputs" && ph.kind == "artifacts":
			if inputArtifact(comp, ph.name) == nil {
				return "", fmt.Errorf("placeholder %s: no input artifact %q", raw, ph.name)
			}
			switch ph.attr {
			case "metadata":
				if modelCars[ph.name] || inputArtifact(comp, ph.name).IsArtifactList {
					return "", unsupported(ep, "the placeholder "+raw+" on a model car or an artifact list")
				}
				return inputMetadata(ph.name, ph.keys), nil
			case "path", "uri":
				if modelCars[ph.name] {
					return strings.TrimSuffix(inArtifact(ph.name), "/data"), nil
				}
				if ph.attr == "uri" {
					return inputURI(ph.name), nil
				}
				return inArtifact(ph.name), nil
			case "":
				if !inputArtifact(comp, ph.name).IsArtifactList {
					return "", unsupported(ep, "the whole-artifact placeholder "+raw+" on a single artifact")
				}
				return listToken(ph.name), nil
			}
			return "", unsupported(ep, "the placeholder "+raw)
		case ph.io == "outputs" && ph.kind == "parameters":
			if comp.OutputDefinitions == nil || comp.OutputDefinitions.Parameters[ph.name] == nil || ph.attr != "output_file" {
				return "", fmt.Errorf("placeholder %s: no output parameter %q with output_file", raw, ph.name)
			}
			return paramFile(ph.name), nil
		case ph.io == "outputs" && ph.kind == "artifacts":
			if comp.OutputDefinitions == nil || comp.OutputDefinitions.Artifacts[ph.name] == nil {
				return "", fmt.Errorf("placeholder %s: no output artifact %q", raw, ph.name)
			}
			switch ph.attr {
			case "uri":
				if uri := outURIs[ph.name]; uri != "" {
					return uri, nil
				}
				return outArtifact(ph.name), nil
			case "path":
				return outArtifact(ph.name), nil
			case "metadata":
				if len(ph.keys) > 0 {
					// Output metadata is what the component writes; it does not exist when the command starts.
					return "", unsupported(ep, "the placeholder "+raw+" (a field of an output artifact's metadata)")
				}
				return "{}", nil
			}
		}
		return "", fmt.Errorf("unknown placeholder %s", raw)
	}
}

// memoize maps KFP caching to Argo memoization. The key is a sha256 over everything that makes a result
// reusable: the component (image, command, args, env, interface) fixed at compile time, and every input value,
// including the metadata documents that name the pods which produced the input artifacts.
//
// A task's custom cache key (cachingOptions.cacheKey) replaces all of that, as in KFP: the key is the component's
// name and the custom key, fixed at compile time (hashed, so no user text reaches Argo's template engine).
func (c *compiler) memoize(compName string, comp *ComponentSpec, ctr *ContainerSpec, tmpl wfv1.Template, custom string) *wfv1.Memoize {
	var key string
	if custom != "" {
		sum := sha256.Sum256([]byte(compName + "\x00" + custom))
		key = hex.EncodeToString(sum[:])
	} else {
		static := digestOf(ctr, comp.InputDefinitions, comp.OutputDefinitions)
		refs := make([]string, 0, len(tmpl.Inputs.Parameters))
		for _, p := range tmpl.Inputs.Parameters {
			refs = append(refs, fmt.Sprintf("inputs.parameters['%s']", p.Name))
		}
		key = fmt.Sprintf("{{=sprig.sha256sum('%s' + toJson([%s]))}}", static, strings.Join(refs, ", "))
	}
	return &wfv1.Memoize{
		Key:   key,
		Cache: &wfv1.Cache{ConfigMap: &apiv1.ConfigMapKeySelector{LocalObjectReference: apiv1.LocalObjectReference{Name: cacheConfigMap(c.s.PipelineInfo.Name)}}},
	}
}

// cacheConfigMap names the memoization cache of a pipeline: one ConfigMap per pipeline.
func cacheConfigMap(pipeline string) string {
	return "kfp-argo-cache-" + strings.TrimSuffix(generateName(pipeline), "-")
}
