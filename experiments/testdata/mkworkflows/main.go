// Command mkworkflows writes the hand-made golden inputs of experiments' status mapping tests
// (../mapping/*.yaml): Workflows whose status.nodes are shaped as Argo 3.7 writes them (node IDs from
// Workflow.NodeID, display names relative to the boundary node, Retry/TaskGroup/StepGroup structure,
// attempt and hook flags). Building them in code keeps IDs, boundaries and children consistent; the YAML
// it writes is what the tests read. Real captures from a control plane go next to them, unchanged.
//
//	go run ./experiments/testdata/mkworkflows -out experiments/testdata/mapping
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(s int) metav1.Time {
	if s < 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(t0.Add(time.Duration(s) * time.Second))
}

type builder struct{ wf *wfv1.Workflow }

// newWF starts a Workflow compiled by kfp-argo; names maps Argo DAG task names to IR task names.
func newWF(name, pipeline string, names map[string]string, params map[string]string) *builder {
	tn := map[string]map[string]string{}
	for k, v := range names {
		// "task|Display name"; without "|" the display name is the task name.
		task, display, ok := strings.Cut(v, "|")
		if !ok {
			display = task
		}
		tn[k] = map[string]string{"task": task, "displayName": display}
	}
	tnj, _ := json.Marshal(tn)
	pj, _ := json.Marshal(params)
	wf := &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "team-a", UID: types.UID("6f1c2a7e-0000-4000-8000-" + fmt.Sprintf("%012x", len(name)*7919)),
			CreationTimestamp: at(0), Generation: 5, ResourceVersion: "48213",
			Labels: map[string]string{
				"app.kubernetes.io/managed-by": "kfp-argo", "kfp-argo.io/pipeline": pipeline, "kfp-argo.io/run": name,
				"kfp-argo.io/experiment": "lr-sweep-3-96e96670", "workflows.argoproj.io/completed": "false",
			},
			Annotations: map[string]string{
				"kfp-argo.io/pipeline-name": pipeline, "kfp-argo.io/ir-digest": "sha256:9b1f0c3e5d7a2b4c6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d",
				"kfp-argo.io/experiment": "lr sweep 3", "kfp-argo.io/parameters": string(pj), "kfp-argo.io/task-names": string(tnj),
				"workflows.argoproj.io/pod-name-format": "v2",
			},
		},
		Spec: wfv1.WorkflowSpec{Entrypoint: "root", ServiceAccountName: "pipeline-runner"},
	}
	// Sorted, so that regenerating gives the same files.
	for _, k := range slices.Sorted(maps.Keys(params)) {
		wf.Spec.Arguments.Parameters = append(wf.Spec.Arguments.Parameters, wfv1.Parameter{Name: k, Value: wfv1.AnyStringPtr(params[k])})
	}
	return &builder{wf: wf}
}

// plainWF starts a Workflow that kfp-argo did not compile (tracked as a run without translation).
func plainWF(name string) *builder {
	b := newWF(name, "", nil, nil)
	b.wf.Labels = map[string]string{"workflows.argoproj.io/completed": "false"}
	b.wf.Annotations = nil
	b.wf.Spec.Arguments = wfv1.Arguments{}
	return b
}

func (b *builder) phase(p wfv1.WorkflowPhase, start, end int, msg string) *builder {
	b.wf.Status.Phase, b.wf.Status.StartedAt, b.wf.Status.FinishedAt, b.wf.Status.Message = p, at(start), at(end), msg
	if p == wfv1.WorkflowSucceeded || p == wfv1.WorkflowFailed || p == wfv1.WorkflowError {
		b.wf.Labels["workflows.argoproj.io/completed"] = "true"
		b.wf.Labels["workflows.argoproj.io/phase"] = string(p)
	} else if p != "" {
		b.wf.Labels["workflows.argoproj.io/phase"] = string(p)
	}
	return b
}

type nodeOpt func(*wfv1.NodeStatus)

func out(kv ...string) nodeOpt {
	return func(n *wfv1.NodeStatus) {
		if n.Outputs == nil {
			n.Outputs = &wfv1.Outputs{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			n.Outputs.Parameters = append(n.Outputs.Parameters, wfv1.Parameter{Name: kv[i], Value: wfv1.AnyStringPtr(kv[i+1])})
		}
	}
}

// meta adds the metadata document of output artifact art, as the pod-side wrapper writes it
// (docs/compile.md, "Runtime contract"); an empty schemaTitle is a container component's document.
func meta(art, schemaTitle string, md map[string]any) nodeOpt {
	return func(n *wfv1.NodeStatus) {
		doc := map[string]any{"metadata": md, "producer": n.ID}
		if schemaTitle != "" {
			doc["schemaTitle"] = schemaTitle
		}
		js, _ := json.Marshal(doc)
		out("kfp-argo-meta-"+art, string(js))(n)
	}
}

func metrics(art string, kv map[string]any) nodeOpt { return meta(art, "system.Metrics", kv) }

// inertMeta is meta in the inert form the wrapper uses when the document contains "{{".
func inertMeta(art, schemaTitle string, md map[string]any) nodeOpt {
	return func(n *wfv1.NodeStatus) {
		js, _ := json.Marshal(map[string]any{"metadata": md, "schemaTitle": schemaTitle, "producer": n.ID})
		out("kfp-argo-meta-"+art, "%%kfpb64:"+base64.StdEncoding.EncodeToString(js)+"%%")(n)
	}
}

func rawMeta(art, s string) nodeOpt { return out("kfp-argo-meta-"+art, s) }
func msg(m string) nodeOpt          { return func(n *wfv1.NodeStatus) { n.Message = m } }
func hooked() nodeOpt {
	return func(n *wfv1.NodeStatus) { n.NodeFlag = &wfv1.NodeFlag{Hooked: true} }
}
func retried() nodeOpt {
	return func(n *wfv1.NodeStatus) { n.NodeFlag = &wfv1.NodeFlag{Retried: true} }
}
func cacheHit() nodeOpt {
	return func(n *wfv1.NodeStatus) {
		n.MemoizationStatus = &wfv1.MemoizationStatus{Hit: true, Key: "train-0.1", CacheName: "kfp-argo-cache"}
	}
}
func displayName(d string) nodeOpt { return func(n *wfv1.NodeStatus) { n.DisplayName = d } }

// node adds a node named name (the full Argo node name) under boundary (a full node name, "" for none)
// and links it as a child of parent (a full node name, "" for none). Adding a node again replaces it,
// keeping its children.
func (b *builder) node(name string, typ wfv1.NodeType, tmpl string, phase wfv1.NodePhase, boundary, parent string, start, end int, opts ...nodeOpt) *builder {
	wf := b.wf
	if wf.Status.Nodes == nil {
		wf.Status.Nodes = wfv1.Nodes{}
	}
	n := wfv1.NodeStatus{ID: wf.NodeID(name), Name: name, Type: typ, TemplateName: tmpl, Phase: phase, StartedAt: at(start), FinishedAt: at(end)}
	if tmpl != "" {
		n.TemplateScope = "local/" + wf.Name
	}
	n.DisplayName = name
	if boundary != "" {
		n.BoundaryID = wf.NodeID(boundary)
		d := strings.TrimPrefix(name, boundary)
		if i := strings.Index(d, "."); i >= 0 && (i == 0 || strings.HasPrefix(d, "[")) {
			d = d[i+1:]
		}
		n.DisplayName = d
	}
	if typ == wfv1.NodeTypePod {
		synced := true
		n.TaskResultSynced = &synced
		if phase == wfv1.NodeSucceeded || phase == wfv1.NodeFailed {
			n.HostNodeName = "kwok-node-0"
			n.ResourcesDuration = wfv1.ResourcesDuration{"cpu": 3, "memory": 12}
			n.Progress = "1/1"
			code := "0"
			if phase == wfv1.NodeFailed {
				code = "1"
			}
			n.Outputs = &wfv1.Outputs{ExitCode: &code}
		}
	}
	for _, o := range opts {
		o(&n)
	}
	if old, ok := wf.Status.Nodes[n.ID]; ok {
		// A later snapshot of the same node: Argo keeps its links.
		n.Children = old.Children
	}
	wf.Status.Nodes[n.ID] = n
	if parent != "" {
		p := wf.Status.Nodes[wf.NodeID(parent)]
		p.Children = append(p.Children, n.ID)
		wf.Status.Nodes[p.ID] = p
	}
	return b
}

func (b *builder) compress() *builder {
	raw, err := json.Marshal(b.wf.Status.Nodes)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	b.wf.Status.CompressedNodes = base64.StdEncoding.EncodeToString(buf.Bytes())
	b.wf.Status.Nodes = nil
	return b
}

func (b *builder) offload() *builder {
	b.wf.Status.Nodes = nil
	b.wf.Status.OffloadNodeStatusVersion = "fnv:3264921093"
	return b
}

func (b *builder) copy() *builder { return &builder{wf: b.wf.DeepCopy()} }

const (
	S = wfv1.NodeSucceeded
	R = wfv1.NodeRunning
	P = wfv1.NodePending
	F = wfv1.NodeFailed
	E = wfv1.NodeError
	K = wfv1.NodeSkipped
	O = wfv1.NodeOmitted

	DAG   = wfv1.NodeTypeDAG
	Pod   = wfv1.NodeTypePod
	Retry = wfv1.NodeTypeRetry
	Group = wfv1.NodeTypeTaskGroup
	Skip  = wfv1.NodeTypeSkipped
	Steps = wfv1.NodeTypeSteps
	SG    = wfv1.NodeTypeStepGroup
)

func main() {
	dir := flag.String("out", "experiments/testdata/mapping", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, docs := range cases() {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# Generated by experiments/testdata/mkworkflows (hand-made case %q). Edit the generator, not this file.\n", name)
		for i, b := range docs {
			y, err := yaml.Marshal(b.wf)
			if err != nil {
				log.Fatal(err)
			}
			if i > 0 {
				buf.WriteString("---\n")
			}
			buf.Write(y)
		}
		if err := os.WriteFile(filepath.Join(*dir, name+".yaml"), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
