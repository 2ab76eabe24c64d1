package translate

import (
	"encoding/json"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
)

// TestImporterRendering: the importer runs no pod; Argo's expression engine computes the consumer's artifact
// location from the URI parameter and the metadata document from the task inputs.
func TestImporterRendering(t *testing.T) {
	wf := compileFixture(t, "importer.yaml", Options{Parameters: map[string]any{"dataset_name": `it's "x"`}})
	if n := len(templateNamed(t, wf, wf.Spec.Entrypoint).DAG.Tasks); n != 1 {
		t.Fatalf("the importer became a DAG task: %d tasks", n)
	}
	task := dagTask(t, wf, "use")
	if task.Depends != "" {
		t.Errorf("the consumer waits for a node that does not exist: %q", task.Depends)
	}
	g := globals(wf, map[string]string{"dataset_uri": "gs://other-bucket/a/b/c.csv"})
	scope := map[string]any{}
	for k, v := range g {
		scope[k] = v
	}
	raw, _ := json.Marshal(task.Arguments)
	out, err := template.Replace(string(raw), scope, false)
	if err != nil {
		t.Fatal(err)
	}
	var args wfv1.Arguments
	if err := json.Unmarshal([]byte(out), &args); err != nil {
		t.Fatal(err)
	}
	gcs := args.Artifacts[0].GCS
	if gcs == nil || gcs.Bucket != "other-bucket" || gcs.Key != "a/b/c.csv" {
		t.Errorf("location %+v, want gs://other-bucket/a/b/c.csv", args.Artifacts[0].ArtifactLocation)
	}
	var doc struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(args.Parameters[0].Value.String()), &doc); err != nil {
		t.Fatalf("metadata document %q: %v", args.Parameters[0].Value.String(), err)
	}
	if doc.Metadata["name"] != `prefix-it's "x"` || doc.Metadata["static"] != true {
		t.Errorf("metadata %v", doc.Metadata)
	}
	list, _ := doc.Metadata[`it's "x"`].([]any)
	if len(list) != 2 || list[0] != 1.0 || decodeInert(list[1].(string)) != "two {{braces}}" {
		t.Errorf("metadata key from a parameter: %v", doc.Metadata)
	}
}
