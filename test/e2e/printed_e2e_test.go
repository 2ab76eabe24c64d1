//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
)

// TestPrintedCorpusServerDryRun sends what users send: every corpus pipeline as `kfp-argo compile` prints it
// (YAML and JSON, Workflow, WorkflowTemplate and CronWorkflow), from the kfp-argo binary's `lint --server`,
// which posts the printed bytes (not a typed object) with a server-side dry run and strict field validation,
// as `kubectl create --dry-run=server -f` does. The apiserver has Argo v3.7.18's full CRDs (make e2e-v4:
// v4.0.7's, whose CEL rules it enforces, and the manifests are printed with --argo-version v4): none may be
// rejected.
func TestPrintedCorpusServerDryRun(t *testing.T) {
	dir := corpus.Dir(t)
	files := corpus.Files(t, dir, ".yaml", ".yml", ".json", ".zip", ".tar.gz")
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	target := env.cluster.Argo()
	for _, kind := range []string{"workflow", "workflowtemplate", "cronworkflow"} {
		for _, format := range []string{"yaml", "json"} {
			out, stderr, err := env.cli.Run(t, append([]string{"lint", "--server", "--kind", kind, "-o", format, "--argo-version", target.Flag()}, paths...)...)
			ok := 0
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasSuffix(line, ": ok") {
					ok++
					continue
				}
				t.Errorf("--kind %s -o %s: %s", kind, format, line)
			}
			if err != nil || ok != len(paths) {
				t.Errorf("--kind %s -o %s: %d of %d accepted (%v) %s", kind, format, ok, len(paths), err, stderr)
			}
			t.Logf("--kind %s -o %s --argo-version %s: %d of %d printed manifests accepted by the apiserver with Argo %s's CRDs (server dry run, strict field validation)", kind, format, target.Flag(), ok, len(paths), target.Release())
		}
	}
}

// TestPrintedManifestWithoutMaxAgeRejected shows that the check above can fail: the printed bytes of a cached
// pipeline with memoize.maxAge removed (what compile printed before) are rejected by the full CRDs, as users saw.
func TestPrintedManifestWithoutMaxAgeRejected(t *testing.T) {
	bin, err := env.cli.Binary()
	if err != nil {
		t.Fatal(err)
	}
	printed, err := exec.Command(bin, "compile", "--argo-version", env.cluster.Argo().Flag(), filepath.Join("..", "..", "testdata", "pipelines", "container-io.yaml")).Output()
	if err != nil {
		t.Fatal(err)
	}
	out := string(printed)
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, tmpl := range doc["spec"].(map[string]any)["templates"].([]any) {
		if m, ok := tmpl.(map[string]any)["memoize"].(map[string]any); ok {
			delete(m, "maxAge")
			removed++
		}
	}
	if removed == 0 {
		t.Fatal("the fixture has no cached task")
	}
	broken, _ := yaml.Marshal(doc)
	err = argo.ServerDryRun(context.Background(), env.dynamic, env.ns, broken)
	if err == nil || !strings.Contains(err.Error(), "memoize.maxAge: Required value") {
		t.Errorf("without maxAge: %v", err)
	}
	if err := argo.ServerDryRun(context.Background(), env.dynamic, env.ns, []byte(out)); err != nil {
		t.Errorf("as printed: %v", err)
	}
}
