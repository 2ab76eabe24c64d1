package argo4

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/translate"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// TestLargeSyntheticArgo4 holds a synthetic SDK-style pipeline of 3,000 tasks (translate/synthir) to Argo 4:
// Argo 4's validator must accept the compiled Workflow, and the printed manifest must pass the schema and CEL
// rules of Argo 4's full CRDs (the apiserver's own validation code), including their limits of 200 templates
// per Workflow and 200 tasks per DAG, which the compiler keeps to by cutting large DAGs into parts and sharing
// DAG templates of the same shape. The e2e lane (make e2e-v4, TestLargePipeline) sends it to such an apiserver
// and runs it.
func TestLargeSyntheticArgo4(t *testing.T) {
	const tasks = 3000
	p, err := translate.Load(fmt.Sprintf("synthetic-%d.yaml", tasks), synthir.Generate(tasks, 1))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := translate.Compile(p, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wf4, err := Workflow(wf)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateWorkflow(context.Background(), wf4); err != nil {
		t.Fatalf("%d tasks: rejected by Argo 4's validator: %v", tasks, err)
	}
	manifest, err := Manifest(wf)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := argo4Rules(t).Check(context.Background(), manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("%d tasks, %d templates: rejected by Argo 4's full CRDs:\n%s", tasks, len(wf4.Spec.Templates), strings.Join(errs, "\n"))
	}
	t.Logf("%d tasks: %d bytes, %d templates: accepted by Argo 4's validator and its full CRDs' schema and CEL rules", tasks, len(manifest), len(wf4.Spec.Templates))
}
