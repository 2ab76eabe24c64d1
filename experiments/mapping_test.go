package experiments

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// goldenStep is what one Workflow snapshot of a case mapped to.
type goldenStep struct {
	State    State  `json:"state"`
	Progress string `json:"progress"`
}

type golden struct {
	Steps []goldenStep `json:"steps"`
	Run   Run          `json:"run"`
}

// readWorkflows reads a multi-document YAML file of Workflows, strictly: a typo in a golden input must
// fail, not map as an absent field.
func readWorkflows(t *testing.T, path string) []*wfv1.Workflow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var wfs []*wfv1.Workflow
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		js, err := utilyaml.ToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		var wf wfv1.Workflow
		if err := dec.Decode(&wf); err != nil {
			t.Fatalf("%s document %d: %v", path, len(wfs), err)
		}
		wfs = append(wfs, &wf)
	}
	if len(wfs) == 0 {
		t.Fatalf("%s: no Workflow", path)
	}
	return wfs
}

// TestMapWorkflowGolden maps each testdata/mapping/*.yaml (one or more Workflow snapshots, in order, each
// mapped with the previous result as prev) and compares with its .golden.json. `go test ./experiments
// -update` rewrites the golden files; review the diff before committing it.
func TestMapWorkflowGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "mapping", "*.yaml"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			var prev *Run
			var g golden
			for _, wf := range readWorkflows(t, in) {
				run := MapWorkflow(wf, prev, observedAt(wf))
				g.Steps = append(g.Steps, goldenStep{State: run.State, Progress: run.Progress()})
				prev = &run
			}
			g.Run = *prev
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := strings.TrimSuffix(in, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", path, diff)
			}
		})
	}
}

// observedAt is when a syncer would see wf: 7 s after the latest time in it (7, so that times taken from
// now are recognizable in golden files).
func observedAt(wf *wfv1.Workflow) time.Time {
	latest := wf.CreationTimestamp.Time
	later := func(t time.Time) {
		if t.After(latest) {
			latest = t
		}
	}
	later(wf.Status.StartedAt.Time)
	later(wf.Status.FinishedAt.Time)
	for _, n := range wf.Status.Nodes {
		later(n.StartedAt.Time)
		later(n.FinishedAt.Time)
	}
	return latest.Add(7 * time.Second)
}
