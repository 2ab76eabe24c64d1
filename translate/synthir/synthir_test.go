package synthir_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// TestGenerate compiles a generated pipeline and checks it with Argo's validator; the output is a pure
// function of (tasks, seed) and holds the mix the benchmarks rely on.
func TestGenerate(t *testing.T) {
	const tasks = 100
	data := synthir.Generate(tasks, 1)
	if !bytes.Equal(data, synthir.Generate(tasks, 1)) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(data, synthir.Generate(tasks, 2)) {
		t.Fatal("different seeds, same output")
	}
	p, err := translate.Load("synthetic.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	executors, groups := 0, map[string]int{}
	for name, c := range p.Spec.Components {
		switch {
		case c.DAG != nil && strings.HasPrefix(name, "comp-condition-"):
			groups["condition"]++
		case c.DAG != nil && strings.HasPrefix(name, "comp-for-loop-"):
			groups["loop"]++
		case c.ExecutorLabel != "":
			executors++
		}
	}
	if executors != tasks {
		t.Errorf("%d executor components, want one per task (%d)", executors, tasks)
	}
	if groups["condition"] == 0 || groups["loop"] == 0 {
		t.Errorf("groups %v: want conditions and loops", groups)
	}
	for _, want := range []string{"taskOutputArtifact", "taskOutputParameter", "componentInputParameter", "triggerPolicy", "parameterIterator"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("generated IR has no %s", want)
		}
	}
	wf, err := translate.Compile(p, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
}
