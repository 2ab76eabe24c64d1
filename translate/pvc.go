package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// kfp-kubernetes' CreatePVC and DeletePVC are components whose executor is a stand-in image that KFP's own
// backend recognises and replaces: they become Argo resource templates, which create or delete the claim from
// the controller without a pod of ours. The created claim's name is the template's output parameter "name", so
// it flows to consumers (pvcMount, DeletePVC) like any task output.
const (
	createPVCImage = "argostub/createpvc"
	deletePVCImage = "argostub/deletepvc"
)

// createPVCInputs are the inputs of kfp-kubernetes' CreatePVC in every release, with their IR types.
var createPVCInputs = map[string]string{
	"access_modes": TypeList, "annotations": TypeStruct, "data_source": TypeStruct, "pvc_name": TypeString,
	"pvc_name_suffix": TypeString, "size": TypeString, "storage_class_name": TypeString, "storage_class": TypeString,
	"volume_name": TypeString, "default_storage_class": TypeBoolean,
}

func pvcOp(ctr *ContainerSpec) string {
	switch strings.TrimSpace(ctr.Image) {
	case createPVCImage:
		return "create"
	case deletePVCImage:
		return "delete"
	}
	return ""
}

// pvcTemplate returns the resource template of a CreatePVC or DeletePVC task. Tasks share it unless they give
// different optional inputs, which change the manifest.
func (c *compiler) pvcTemplate(compName string, comp *ComponentSpec, ctr *ContainerSpec, given map[string]bool, retry *RetryPolicy, tp string) (string, error) {
	op := pvcOp(ctr)
	var in map[string]*ParameterSpec
	if comp.InputDefinitions != nil {
		in = comp.InputDefinitions.Parameters
		if len(comp.InputDefinitions.Artifacts) > 0 {
			return "", pathErrorf(fmt.Sprintf("components[%q].inputDefinitions.artifacts", compName), "a %s PVC component takes no artifacts", op)
		}
	}
	// has: the input has a value in this task, from the task or from a default.
	has := func(n string) bool { return in[n] != nil && (given[n] || in[n].DefaultValue != nil) }
	key := fmt.Sprintf("pvc|%s|retry=%s|given=%v", compName, digestOf(retry), given)
	if name, ok := c.variants[key]; ok {
		return name, nil
	}
	ref := func(n string) string { return "{{inputs.parameters." + paramName(n) + "}}" }
	raw := map[string]string{}
	rawRef := func(n string) string {
		s := fmt.Sprintf("@@kfp-argo-raw-%d@@", len(raw))
		raw[s] = ref(n)
		return s
	}

	var manifest map[string]any
	var outputs wfv1.Outputs
	switch op {
	case "create":
		for _, n := range sortedMapKeys(in) {
			want, ok := createPVCInputs[n]
			if !ok {
				return "", pathErrorf(fmt.Sprintf("components[%q].inputDefinitions.parameters[%q]", compName, n), "CreatePVC has no input %q", n)
			}
			if in[n].ParameterType != want {
				return "", pathErrorf(fmt.Sprintf("components[%q].inputDefinitions.parameters[%q].parameterType", compName, n), "CreatePVC's %s is a %s, not %s", n, want, in[n].ParameterType)
			}
		}
		// kfp-kubernetes before 1.0 (kubeflow/pipelines#8973) named storage_class_name storage_class.
		storageClass := "storage_class_name"
		if in["storage_class"] != nil {
			if in["storage_class_name"] != nil {
				return "", pathErrorf(fmt.Sprintf("components[%q].inputDefinitions.parameters", compName), "CreatePVC takes storage_class_name or its older name storage_class, not both")
			}
			storageClass = "storage_class"
		}
		meta := map[string]any{}
		switch {
		case has("pvc_name") && has("pvc_name_suffix"):
			return "", pathErrorf(tp+".inputs.parameters", "CreatePVC takes pvc_name or pvc_name_suffix, not both")
		case has("pvc_name"):
			meta["name"] = ref("pvc_name")
		case has("pvc_name_suffix"):
			// KFP names the claim after the run: <workflow name><suffix> (the SDK's suffixes start with "-").
			meta["name"] = "{{workflow.name}}" + ref("pvc_name_suffix")
		default:
			return "", pathErrorf(tp+".inputs.parameters", "CreatePVC needs pvc_name or pvc_name_suffix")
		}
		if has("annotations") {
			meta["annotations"] = rawRef("annotations")
		}
		if !has("size") || !has("access_modes") {
			return "", pathErrorf(tp+".inputs.parameters", "CreatePVC needs size and access_modes")
		}
		spec := map[string]any{
			"accessModes": rawRef("access_modes"),
			"resources":   map[string]any{"requests": map[string]any{"storage": ref("size")}},
		}
		if given[storageClass] {
			spec["storageClassName"] = ref(storageClass)
		}
		if has("volume_name") {
			spec["volumeName"] = ref("volume_name")
		}
		if has("data_source") {
			spec["dataSource"] = rawRef("data_source")
		}
		manifest = map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}
		outputs.Parameters = []wfv1.Parameter{{Name: "name", ValueFrom: &wfv1.ValueFrom{JSONPath: "{.metadata.name}"}}}
		// The claim's name is the only output the resource template has: consumers must ask for that one.
		if od := comp.OutputDefinitions; od != nil {
			for _, n := range sortedMapKeys(od.Parameters) {
				if n != "name" {
					return "", pathErrorf(fmt.Sprintf("components[%q].outputDefinitions.parameters[%q]", compName, n), "a create PVC component has one output, \"name\"")
				}
			}
			if len(od.Artifacts) > 0 {
				return "", pathErrorf(fmt.Sprintf("components[%q].outputDefinitions.artifacts", compName), "a create PVC component has one output, \"name\"")
			}
		}
	case "delete":
		for _, n := range sortedMapKeys(in) {
			if n != "pvc_name" {
				return "", pathErrorf(fmt.Sprintf("components[%q].inputDefinitions.parameters[%q]", compName, n), "DeletePVC has no input %q", n)
			}
		}
		if !has("pvc_name") {
			return "", pathErrorf(tp+".inputs.parameters", "DeletePVC needs pvc_name")
		}
		manifest = map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": map[string]any{"name": ref("pvc_name")}}
	}
	blob, err := json.Marshal(manifest)
	if err != nil {
		return "", err
	}
	text := string(blob)
	for s, r := range raw {
		// JSON values (lists, objects) are inserted as they are: the manifest is YAML, and JSON is YAML.
		text = strings.ReplaceAll(text, `"`+s+`"`, r)
	}

	name := c.reserveName(compName)
	c.variants[key] = name
	tmpl := wfv1.Template{Name: name, Outputs: outputs, Resource: &wfv1.ResourceTemplate{Action: op, Manifest: text}}
	for _, n := range sortedMapKeys(in) {
		p, err := templateInput(n, in[n])
		if err != nil {
			return "", pathErrorf(fmt.Sprintf("components[%q].inputDefinitions.parameters[%q].defaultValue", compName, n), "%v", err)
		}
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, p)
	}
	if err := applyRetry(&tmpl, retry, tp); err != nil {
		return "", err
	}
	c.templates = append(c.templates, tmpl)
	return name, nil
}
