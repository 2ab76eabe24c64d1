package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

const resourcesSpec = `
components:
  comp-a:
    executorLabel: exec-a
deploymentSpec:
  executors:
    exec-a:
      container:
        image: alpine
        command: [echo]
        resources:
          resourceCpuLimit: '{{$.inputs.parameters[''pipelinechannel--cpu'']}}'
          resourceMemoryRequest: 256Mi
          accelerator:
            resourceType: '{{$.inputs.parameters[''pipelinechannel--gpu-type'']}}'
            resourceCount: '{{$.inputs.parameters[''pipelinechannel--gpus'']}}'
pipelineInfo: {name: res}
root:
  dag:
    tasks:
      a:
        componentRef: {name: comp-a}
        inputs:
          parameters:
            pipelinechannel--cpu: {componentInputParameter: cpu}
            pipelinechannel--gpu-type: {runtimeValue: {constant: nvidia.com/gpu}}
            pipelinechannel--gpus: {componentInputParameter: gpus}
        taskInfo: {name: a}
  inputDefinitions:
    parameters:
      cpu: {parameterType: STRING, defaultValue: 500m}
      gpus: {parameterType: NUMBER_INTEGER, defaultValue: 2}
schemaVersion: 2.1.0
`

// TestResourcesFromParameters: values known only at run time reach the pod through a podSpecPatch that Argo
// renders per task; static values stay in the container's resources.
func TestResourcesFromParameters(t *testing.T) {
	p, err := Load("res.yaml", []byte(resourcesSpec))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{Parameters: map[string]any{"cpu": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	task := dagTask(t, wf, "a")
	tmpl := renderTask(t, wf, task, globals(wf, nil), nil)
	var patch struct {
		Containers []struct {
			Name      string                       `json:"name"`
			Resources map[string]map[string]string `json:"resources"`
		} `json:"containers"`
	}
	if err := json.Unmarshal([]byte(tmpl.PodSpecPatch), &patch); err != nil {
		t.Fatalf("rendered podSpecPatch %q: %v", tmpl.PodSpecPatch, err)
	}
	limits := patch.Containers[0].Resources["limits"]
	if patch.Containers[0].Name != "main" || limits["cpu"] != "2" || limits["nvidia.com/gpu"] != "2" {
		t.Errorf("podSpecPatch %s", tmpl.PodSpecPatch)
	}
	if got := tmpl.Container.Resources.Requests["memory"]; got.Cmp(resource.MustParse("256Mi")) != 0 {
		t.Errorf("static request %v", tmpl.Container.Resources.Requests)
	}
}

// TestAcceleratorNodeSelector: a Vertex-style GPU name picks the GPU resource and the GKE node label, as KFP does.
func TestAcceleratorNodeSelector(t *testing.T) {
	src := strings.Replace(strings.Replace(resourcesSpec, "resourceType: '{{$.inputs.parameters[''pipelinechannel--gpu-type'']}}'", "resourceType: NVIDIA_TESLA_T4", 1), "resourceCount: '{{$.inputs.parameters[''pipelinechannel--gpus'']}}'", "resourceCount: '1'", 1)
	p, err := Load("res.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := templateNamed(t, wf, dagTask(t, wf, "a").Template)
	if tmpl.NodeSelector[gkeAcceleratorLabel] != "nvidia-tesla-t4" {
		t.Errorf("node selector %v", tmpl.NodeSelector)
	}
	if q := tmpl.Container.Resources.Limits["nvidia.com/gpu"]; q.String() != "1" {
		t.Errorf("limits %v", tmpl.Container.Resources.Limits)
	}
}
