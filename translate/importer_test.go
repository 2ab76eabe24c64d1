package translate

import (
	"encoding/json"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
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
	args := replaceIn(t, task.Arguments, scope, false)
	gcs := args.Artifacts[0].GCS
	if gcs == nil || gcs.Bucket != "other-bucket" || gcs.Key != "a/b/c.csv" {
		t.Errorf("location %+v, want gs://other-bucket/a/b/c.csv", args.Artifacts[0].ArtifactLocation)
	}
	var doc struct {
		Metadata map[string]any `json:"metadata"`
		URI      string         `json:"uri"`
	}
	if err := json.Unmarshal([]byte(args.Parameters[0].Value.String()), &doc); err != nil {
		t.Fatalf("metadata document %q: %v", args.Parameters[0].Value.String(), err)
	}
	if doc.URI != "gs://other-bucket/a/b/c.csv" {
		t.Errorf("the consumer's .uri would be %q", doc.URI)
	}
	if doc.Metadata["name"] != `prefix-it's "x"` || doc.Metadata["static"] != true {
		t.Errorf("metadata %v", doc.Metadata)
	}
	list, _ := doc.Metadata[`it's "x"`].([]any)
	if len(list) != 2 || list[0] != 1.0 || decodeInert(list[1].(string)) != "two {{braces}}" {
		t.Errorf("metadata key from a parameter: %v", doc.Metadata)
	}
}

const modelCarSpec = `
components:
  comp-importer:
    executorLabel: exec-importer
    inputDefinitions: {parameters: {uri: {parameterType: STRING}}}
    outputDefinitions: {artifacts: {artifact: {artifactType: {schemaTitle: system.Model, schemaVersion: 0.0.1}}}}
  comp-use:
    executorLabel: exec-use
    inputDefinitions: {artifacts: {model: {artifactType: {schemaTitle: system.Model, schemaVersion: 0.0.1}}}}
deploymentSpec:
  executors:
    exec-importer:
      importer:
        artifactUri: {runtimeParameter: uri}
        typeSchema: {schemaTitle: system.Model, schemaVersion: 0.0.1}
    exec-use:
      container: {image: alpine, command: [ls, "{{$.inputs.artifacts['model'].path}}"]}
pipelineInfo: {name: model-car}
root:
  dag:
    tasks:
      importer:
        componentRef: {name: comp-importer}
        inputs: {parameters: {uri: {componentInputParameter: model_uri}}}
        taskInfo: {name: importer}
      use:
        componentRef: {name: comp-use}
        inputs: {artifacts: {model: {taskOutputArtifact: {producerTask: importer, outputArtifactKey: artifact}}}}
        taskInfo: {name: use}
  inputDefinitions:
    parameters:
      model_uri: {parameterType: STRING, defaultValue: "oci://registry.example/models/tiny:v1"}
schemaVersion: 2.1.0
`

// TestModelCar: an oci:// importer runs no pod; its consumer copies the model out of the image (a model car)
// in an init container and reads the folder, with the image taken from the run's parameter.
func TestModelCar(t *testing.T) {
	p, err := Load("car.yaml", []byte(modelCarSpec))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	g := globals(wf, map[string]string{"model_uri": "oci://registry.example/models/other:v2"})
	tmpl := renderTask(t, wf, dagTask(t, wf, "use"), g, nil)
	if len(tmpl.InitContainers) != 1 || tmpl.InitContainers[0].Image != "registry.example/models/other:v2" {
		t.Fatalf("init containers %+v", tmpl.InitContainers)
	}
	folder := strings.TrimSuffix(inArtifact("model"), "/data")
	mounted := false
	for _, m := range tmpl.Container.VolumeMounts {
		mounted = mounted || (m.MountPath == folder && m.Name == tmpl.InitContainers[0].VolumeMounts[0].Name)
	}
	if !mounted || len(tmpl.Inputs.Artifacts) != 0 {
		t.Errorf("model folder not mounted from the init container's volume: %+v", tmpl.Container.VolumeMounts)
	}
	if got := tmpl.Container.Command[len(tmpl.Container.Command)-1]; got != folder {
		t.Errorf(".path resolves to %q, want %q", got, folder)
	}
}

// TestImporterOtherS3Bucket: an importer of s3://other-bucket/key reads that bucket. Argo's executor relocates an
// artifact whose location is incomplete (S3Artifact.HasLocation: endpoint, bucket and key) into the default
// repository, bucket included (ArtifactLocation.Relocate, called by argoexec before every download): the
// location must be complete, with the endpoint and credentials of --artifact-store.
func TestImporterOtherS3Bucket(t *testing.T) {
	repo := &wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: wfv1.S3Bucket{Endpoint: "minio.argo:9000", Bucket: "my-bucket"}, Key: "x"}}
	for _, uri := range []string{"s3://other-bucket/a/b/c.csv", "minio://other-bucket/a/b/c.csv"} {
		wf := compileFixture(t, "importer.yaml", Options{Parameters: map[string]any{"dataset_uri": uri}, ArtifactStore: testStore})
		g := globals(wf, nil)
		scope := map[string]any{}
		for k, v := range g {
			scope[k] = v
		}
		args := replaceIn(t, dagTask(t, wf, "use").Arguments, scope, false)
		loc := args.Artifacts[0].ArtifactLocation
		if err := loc.Relocate(repo); err != nil {
			t.Fatal(err)
		}
		s3 := loc.S3
		if s3 == nil || s3.Bucket != "other-bucket" || s3.Key != "a/b/c.csv" || s3.Endpoint != "minio.argo:9000" || s3.Insecure == nil || !*s3.Insecure ||
			s3.AccessKeySecret == nil || s3.AccessKeySecret.Name != "my-minio-cred" || s3.AccessKeySecret.Key != "accesskey" || s3.SecretKeySecret == nil || s3.SecretKeySecret.Key != "secretkey" {
			t.Errorf("%s: argoexec reads %+v", uri, loc)
		}
	}
}

// testStore is an --artifact-store of Argo's quick-start MinIO.
const testStore = "s3://my-bucket?endpoint=minio.argo:9000&insecure=true&secret=my-minio-cred"

// TestImporterS3NeedsStore: without the endpoint, an S3 importer of a bucket that is not known to be the
// repository's is an error that names the IR path and the flag; the repository's own bucket needs no more.
func TestImporterS3NeedsStore(t *testing.T) {
	p, err := LoadFile("../testdata/pipelines/importer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(p, Options{Parameters: map[string]any{"dataset_uri": "s3://other-bucket/k"}})
	if err == nil || !strings.Contains(err.Error(), "artifactUri.runtimeParameter") || !strings.Contains(err.Error(), "--artifact-store") {
		t.Errorf("error %v, want the IR path and --artifact-store", err)
	}
	for _, store := range []string{"s3://b?endpoint=h:1&color=red", "ftp://b", "s3://b/prefix", "gs://b?endpoint=h:1", "s3://b?secret=x"} {
		if _, err := Compile(p, Options{ArtifactStore: store}); err == nil || !strings.Contains(err.Error(), "artifact store") {
			t.Errorf("store %q: error %v", store, err)
		}
	}
}
