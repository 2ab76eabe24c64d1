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

// TestRuns: a loop body's task runs once per item, a condition's task is not sure to run, a root task is.
func TestRuns(t *testing.T) {
	most, sure, err := synthir.Runs(synthir.Generate(18, 20))
	if err != nil {
		t.Fatal(err)
	}
	if most["print-item"] != 3 || !sure["print-item"] || most["for-loop-3"] != 3 {
		t.Errorf("loop: print-item %d (sure %v), for-loop-3 %d; want 3, true, 3", most["print-item"], sure["print-item"], most["for-loop-3"])
	}
	if most["process-3"] != 1 || sure["process-3"] || sure["condition-1"] {
		t.Errorf("condition: process-3 %d (sure %v), condition-1 sure %v; want 1, false, false", most["process-3"], sure["process-3"], sure["condition-1"])
	}
	if most["produce"] != 1 || !sure["produce"] {
		t.Errorf("root: produce %d (sure %v)", most["produce"], sure["produce"])
	}
}
