package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

func writeSynthetic(t *testing.T, o synthir.Options) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "large.yaml")
	if err := os.WriteFile(file, synthir.GenerateWith(o), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestCompileForArgo4RefusesTooManyTemplates: a pipeline assembled from hundreds of distinct components has
// as many container templates, which nothing can share. For Argo 3 it compiles; for Argo 4, whose CRD allows
// 200 templates, compile says so, names the file, and prints nothing.
func TestCompileForArgo4RefusesTooManyTemplates(t *testing.T) {
	file := writeSynthetic(t, synthir.Options{Tasks: 600, Seed: 1, Functions: 60})
	out, _, err := run("compile", file)
	if err != nil {
		t.Fatalf("for Argo 3: %v", err)
	}
	var wf wfv1.Workflow
	if err := yaml.Unmarshal([]byte(out), &wf); err != nil {
		t.Fatal(err)
	}
	if len(wf.Spec.Templates) <= 200 {
		t.Fatalf("%d templates: the test needs more than 200", len(wf.Spec.Templates))
	}
	out, _, err = run("compile", "--argo-version", "v4", file)
	if err == nil || out != "" {
		t.Fatalf("for Argo 4: err %v, stdout %d bytes", err, len(out))
	}
	if msg := err.Error(); !strings.HasPrefix(msg, file+": ") || !strings.Contains(msg, "over the 200 that Argo 4's CRD allows") {
		t.Errorf("error %q: want the file and the limit", msg)
	}
}

// TestCompileWarnsOfRunSize: a pipeline whose manifest fits but whose run, node status included, passes
// Argo's MAX_WORKFLOW_SIZE compiles with a warning on stderr and the manifest alone on stdout; lint reports
// the warning on its line; a pipeline that fits has none.
func TestCompileWarnsOfRunSize(t *testing.T) {
	large := writeSynthetic(t, synthir.Options{Tasks: 3600, Seed: 1})
	out, errOut, err := run("compile", large)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(errOut, "Warning: "+large+": ") || !strings.Contains(errOut, "MAX_WORKFLOW_SIZE") {
		t.Errorf("stderr %q: want the run-size warning", errOut)
	}
	if strings.Contains(out, "Warning") || !strings.HasPrefix(out, "apiVersion: argoproj.io/v1alpha1") {
		t.Errorf("stdout is not the manifest alone: %.80q", out)
	}
	out, _, err = run("lint", large)
	if err != nil || !strings.Contains(out, large+": warning: ") || !strings.HasSuffix(out, large+": ok\n") {
		t.Errorf("lint: err %v, output %q", err, out)
	}
	_, errOut, err = run("compile", "../../testdata/pipelines/loops.yaml")
	if err != nil || errOut != "" {
		t.Errorf("a small pipeline: err %v, stderr %q", err, errOut)
	}
}
