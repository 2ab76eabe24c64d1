package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// TestCollectedArtifacts: the producer in the loop writes under a prefix named for it; the consumers download
// the prefix and the wrapper makes the list, in iteration order, from the metadata documents Argo aggregates.
func TestCollectedArtifacts(t *testing.T) {
	needTool(t, "python3")
	wf := compileFixture(t, "collected-artifacts.yaml", Options{})
	body := templateNamed(t, wf, dagTask(t, wf, "for-loop-1").Template)
	make := templateNamed(t, wf, body.DAG.Tasks[0].Template)
	key := make.Outputs.Artifacts[0].S3.Key
	if !strings.HasPrefix(key, "kfp-argo/{{workflow.uid}}/collected/") || !strings.HasSuffix(key, "/data/{{pod.name}}") {
		t.Fatalf("producer key %q", key)
	}
	prefix := strings.TrimSuffix(key, "/{{pod.name}}")

	// Argo's aggregate: objects when every iteration wrote a document, strings when one did not.
	aggregates := map[string]string{
		"objects": `[{"metadata":{"n":3},"producer":"pod-c"},{"metadata":{"n":1},"producer":"pod-a"}]`,
		"strings": `["{\"metadata\":{\"n\":3},\"producer\":\"pod-c\"}","` + noneValue + `","{\"metadata\":{\"n\":1},\"producer\":\"pod-a\"}"]`,
	}
	for form, agg := range aggregates {
		out := map[string]string{"tasks.for-loop-1.outputs.parameters." + MetadataParameterPrefix + "pipelinechannel--make-data": agg}
		for _, name := range []string{"join", "join-container"} {
			task := dagTask(t, wf, name)
			if got := task.Arguments.Artifacts[0].S3; got == nil || got.Key != prefix {
				t.Fatalf("%s: input location %+v, want key %s", name, task.Arguments.Artifacts[0].ArtifactLocation, prefix)
			}
			dir := t.TempDir()
			record := filepath.Join(dir, "record.json")
			tmpl := renderTask(t, wf, task, globals(wf, nil), out)
			if code, log := runPod(t, tmpl.Container, dir, "STANDIN_RECORD="+record); code != 0 {
				t.Fatalf("%s (%s): exit %d: %s", name, form, code, log)
			}
			data, err := os.ReadFile(record)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Argv          []string `json:"argv"`
				ExecutorInput struct {
					Inputs struct {
						Artifacts map[string]struct {
							Artifacts []map[string]any `json:"artifacts"`
						} `json:"artifacts"`
					} `json:"inputs"`
				} `json:"executor_input"`
			}
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Fatal(err)
			}
			var list []map[string]any
			if name == "join" {
				list = rec.ExecutorInput.Inputs.Artifacts["datasets"].Artifacts
			} else if err := json.Unmarshal([]byte(rec.Argv[0]), &list); err != nil {
				t.Fatalf("%s: the list placeholder is not JSON: %q", name, rec.Argv)
			}
			folder := filepath.Join(dir, "artifacts/in/datasets")
			if len(list) != 2 || list[0]["uri"] != filepath.Join(folder, "pod-c") || list[1]["uri"] != filepath.Join(folder, "pod-a") {
				t.Errorf("%s (%s): list %v", name, form, list)
				continue
			}
			if m := list[0]["metadata"].(map[string]any); m["n"] != 3.0 {
				t.Errorf("%s (%s): metadata %v", name, form, m)
			}
		}
	}
}

// TestLoopOverArtifacts: a ParallelFor over a collected list iterates over its metadata documents; each
// iteration's artifact is the item of one producing pod.
func TestLoopOverArtifacts(t *testing.T) {
	wf := compileFixture(t, "collected-artifacts.yaml", Options{})
	loop := dagTask(t, wf, "for-loop-2")
	scope := map[string]any{"tasks.for-loop-1.outputs.parameters." + MetadataParameterPrefix + "pipelinechannel--make-data": `["{\"metadata\":{},\"producer\":\"pod-b\"}","` + noneValue + `","{\"metadata\":{\"k\":1},\"producer\":\"pod-a\"}"]`}
	withParam := replaceIn(t, loop.WithParam, scope, false)
	var items []map[string]any
	if err := json.Unmarshal([]byte(withParam), &items); err != nil {
		t.Fatalf("withParam renders to %q: %v", withParam, err)
	}
	if len(items) != 2 || items[0]["producer"] != "pod-b" || items[1]["producer"] != "pod-a" {
		t.Errorf("items %v", items)
	}
	var item *wfv1.Artifact
	for i := range loop.Arguments.Artifacts {
		if loop.Arguments.Artifacts[i].Name == "pipelinechannel--for-loop-1-data-loop-item" {
			item = &loop.Arguments.Artifacts[i]
		}
	}
	if item == nil || item.S3 == nil || !strings.HasSuffix(item.S3.Key, "/data/{{item.producer}}") {
		t.Errorf("item artifact %+v", item)
	}
}
