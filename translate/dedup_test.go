package translate

import (
	"encoding/json"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// duplicateTemplates lists templates whose content, name aside, equals an earlier one's.
func duplicateTemplates(t *testing.T, wf *wfv1.Workflow) []string {
	t.Helper()
	seen := map[string]string{}
	var dups []string
	for _, tmpl := range wf.Spec.Templates {
		name := tmpl.Name
		tmpl.Name = ""
		raw, err := json.Marshal(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if first, ok := seen[string(raw)]; ok {
			dups = append(dups, name+" = "+first)
			continue
		}
		seen[string(raw)] = name
	}
	return dups
}

// TestOneTemplatePerComponent: the SDK gives every reuse of a component its own copy (comp-x, comp-x-2, …);
// the workflow has one template per distinct content, and the tasks keep their IR names.
func TestOneTemplatePerComponent(t *testing.T) {
	p, err := Load("synthetic.yaml", synthir.Generate(60, 3))
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
	if dups := duplicateTemplates(t, wf); len(dups) > 0 {
		t.Errorf("%d templates duplicate another: %v", len(dups), dups)
	}
	containers := 0
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container != nil {
			containers++
		}
	}
	// Six Python functions, each with and without memoization at most.
	if containers > 6 {
		t.Errorf("%d container templates for 6 distinct components", containers)
	}
	names := map[string]bool{}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.DAG != nil {
			for _, task := range tmpl.DAG.Tasks {
				names[task.Name] = true
			}
		}
	}
	for tn := range p.Spec.Root.DAG.Tasks {
		if !names[tn] {
			t.Errorf("IR task %q has no DAG task of that name", tn)
		}
	}
}

// TestCorpusNoDuplicateTemplates: no corpus workflow keeps two templates of the same content.
func TestCorpusNoDuplicateTemplates(t *testing.T) {
	for _, f := range corpusFiles(t, "valid") {
		rel, _ := filepath.Rel(corpusDir, f)
		p, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(p, corpusOptions(p))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if dups := duplicateTemplates(t, wf); len(dups) > 0 {
			t.Errorf("%s: %v", rel, dups)
		}
	}
}
