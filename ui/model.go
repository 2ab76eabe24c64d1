// Package ui renders kfp-argo's experiment and run records as HTML: the pages of `kfp-argo ui` (a local,
// read-only server) and the self-contained file of `kfp-argo run report`. Pages are html/template with
// embedded assets; charts are SVG drawn by gonum.org/v1/plot.
package ui

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// RunDetail is what the run page and the report show of one run: the record plus what only its Workflow
// knows (artifacts, structured metrics, the DAG's edges). Workflow is nil once Argo has removed it.
type RunDetail struct {
	Namespace string
	Run       experiments.Run
	Workflow  *wfv1.Workflow
	// Now is when the page was made, for durations of unfinished runs.
	Now time.Time
	// Read returns an artifact's contents from the artifact repository; nil when nothing can be read.
	Read func(Artifact) ([]byte, error)
}

// Artifact is one output artifact of a task.
type Artifact struct {
	Task   string
	Name   string
	URI    string
	Schema string
	// Metadata is the KFP artifact metadata the pod-side wrapper reported (may be nil).
	Metadata map[string]any
	// Loc is where Argo stored it.
	Loc wfv1.Artifact
}

// ClassificationMetrics are the structured parts of a system.ClassificationMetrics artifact.
type ClassificationMetrics struct {
	Task      string
	Artifact  string
	ROC       []ROCPoint
	Labels    []string
	Confusion [][]float64
}

// ROCPoint is one confidenceMetrics entry.
type ROCPoint struct {
	Threshold, FPR, TPR float64
}

// artifactMeta is the document of a kfp-argo-meta-<artifact> output parameter (docs/records.md, Metrics).
type artifactMeta struct {
	Metadata    map[string]any `json:"metadata"`
	SchemaTitle string         `json:"schemaTitle"`
}

// taskRowByNode maps Argo node IDs to the record's task rows, so the Workflow's per-node data (artifacts,
// metadata) is named the way the record names tasks. A retried task's row has the Retry node's ID; its
// attempts point to it through their boundary/parent relation, which the Workflow's Children give.
func taskRowByNode(run experiments.Run, wf *wfv1.Workflow) map[string]experiments.Task {
	out := map[string]experiments.Task{}
	for _, t := range run.Tasks {
		out[t.ID] = t
	}
	if wf == nil {
		return out
	}
	for id, n := range wf.Status.Nodes {
		t, ok := out[id]
		if !ok || n.Type != wfv1.NodeTypeRetry {
			continue
		}
		for _, c := range n.Children {
			out[c] = t
		}
	}
	return out
}

// taskLabel names a row as metrics do: IR task name with loop indexes.
func taskLabel(t experiments.Task) string {
	if len(t.Iteration) == 0 {
		return t.Name
	}
	parts := make([]string, len(t.Iteration))
	for i, n := range t.Iteration {
		parts[i] = fmt.Sprint(n)
	}
	return t.Name + "[" + strings.Join(parts, ",") + "]"
}

// Artifacts lists the output artifacts of the run's pod tasks with their URIs and KFP metadata, read from
// the Workflow's node status. Without a Workflow there is nothing to list.
func (d RunDetail) Artifacts() []Artifact {
	if d.Workflow == nil {
		return nil
	}
	rows := taskRowByNode(d.Run, d.Workflow)
	var out []Artifact
	for id, n := range d.Workflow.Status.Nodes {
		if n.Type != wfv1.NodeTypePod || n.Outputs == nil {
			continue
		}
		t, ok := rows[id]
		if !ok {
			continue
		}
		metas := map[string]artifactMeta{}
		for _, p := range n.Outputs.Parameters {
			if !strings.HasPrefix(p.Name, translate.MetadataParameterPrefix) || p.Value == nil {
				continue
			}
			var m artifactMeta
			if json.Unmarshal([]byte(p.Value.String()), &m) == nil {
				metas[strings.TrimPrefix(p.Name, translate.MetadataParameterPrefix)] = m
			}
		}
		for _, a := range n.Outputs.Artifacts {
			if a.Name == "main-logs" {
				continue
			}
			m := metas[a.Name]
			out = append(out, Artifact{Task: taskLabel(t), Name: a.Name, URI: d.artifactURI(a), Schema: m.SchemaTitle, Metadata: m.Metadata, Loc: a})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Task != out[j].Task {
			return out[i].Task < out[j].Task
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// artifactURI is the artifact's location as a URI, the bucket taken from the artifact or, as Argo does,
// from the repository the Workflow ran with.
func (d RunDetail) artifactURI(a wfv1.Artifact) string {
	key, err := a.GetKey()
	if err != nil {
		return ""
	}
	switch {
	case a.S3 != nil:
		bucket := a.S3.Bucket
		if bucket == "" {
			if ref := d.Workflow.Status.ArtifactRepositoryRef; ref != nil && ref.ArtifactRepository != nil && ref.ArtifactRepository.S3 != nil {
				bucket = ref.ArtifactRepository.S3.Bucket
			}
		}
		return "s3://" + bucket + "/" + strings.TrimPrefix(key, "/")
	case a.GCS != nil:
		return "gs://" + a.GCS.Bucket + "/" + key
	case a.HTTP != nil:
		return a.HTTP.URL
	}
	if ref := d.Workflow.Status.ArtifactRepositoryRef; ref != nil && ref.ArtifactRepository != nil && ref.ArtifactRepository.S3 != nil {
		return "s3://" + ref.ArtifactRepository.S3.Bucket + "/" + strings.TrimPrefix(key, "/")
	}
	return key
}

// Classification returns the ROC curves and confusion matrices of the run's ClassificationMetrics
// artifacts.
func (d RunDetail) Classification() []ClassificationMetrics {
	var out []ClassificationMetrics
	for _, a := range d.Artifacts() {
		if a.Schema != "system.ClassificationMetrics" || a.Metadata == nil {
			continue
		}
		c := ClassificationMetrics{Task: a.Task, Artifact: a.Name}
		if pts, ok := a.Metadata["confidenceMetrics"].([]any); ok {
			for _, p := range pts {
				m, ok := p.(map[string]any)
				if !ok {
					continue
				}
				c.ROC = append(c.ROC, ROCPoint{Threshold: num(m["confidenceThreshold"]), FPR: num(m["falsePositiveRate"]), TPR: num(m["recall"])})
			}
			sort.SliceStable(c.ROC, func(i, j int) bool { return c.ROC[i].FPR < c.ROC[j].FPR })
		}
		if cm, ok := a.Metadata["confusionMatrix"].(map[string]any); ok {
			if specs, ok := cm["annotationSpecs"].([]any); ok {
				for _, s := range specs {
					if m, ok := s.(map[string]any); ok {
						c.Labels = append(c.Labels, fmt.Sprint(m["displayName"]))
					}
				}
			}
			if rows, ok := cm["rows"].([]any); ok {
				for _, r := range rows {
					m, _ := r.(map[string]any)
					vals, _ := m["row"].([]any)
					row := make([]float64, len(vals))
					for i, v := range vals {
						row[i] = num(v)
					}
					c.Confusion = append(c.Confusion, row)
				}
			}
		}
		if len(c.ROC) > 0 || len(c.Confusion) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// GraphNode is one task of the run graph.
type GraphNode struct {
	Task experiments.Task
	// Label is what the node shows: display name, loop indexes.
	Label string
	// Kind marks loops and conditions: "loop", "condition", "" .
	Kind     string
	Col, Row int
}

// GraphEdge joins two nodes by index.
type GraphEdge struct{ From, To int }

// Graph is the top level of the run's DAG laid out in columns by dependency depth.
type Graph struct {
	Nodes []GraphNode
	Edges []GraphEdge
	Cols  int
	Rows  int
}

var dependsToken = regexp.MustCompile(`[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?`)

// loopSuffix is Argo's "(index:item)" on loop iteration node names.
var loopSuffix = regexp.MustCompile(`\(\d+:.*\)$`)

// Graph builds the run graph of the top-level rows: nodes for tasks, edges from each DAG task's `depends`
// (or `dependencies`) in the Workflow's entrypoint template. Without a Workflow the rows stand alone.
func (d RunDetail) Graph() Graph {
	var g Graph
	index := map[string]int{} // argo task name -> node
	var top []experiments.Task
	for _, t := range d.Run.Tasks {
		if t.Parent == "" && !t.ExitHook {
			top = append(top, t)
		}
	}
	dag := map[string]wfv1.DAGTask{}
	if wf := d.Workflow; wf != nil {
		for _, tmpl := range wf.Spec.Templates {
			if tmpl.Name == wf.Spec.Entrypoint && tmpl.DAG != nil {
				for _, t := range tmpl.DAG.Tasks {
					dag[t.Name] = t
				}
			}
		}
	}
	for _, t := range top {
		label := t.DisplayName
		if label == "" {
			label = t.Name
		}
		n := GraphNode{Task: t, Label: label}
		argoName := t.Name
		if d.Workflow != nil {
			if node, ok := d.Workflow.Status.Nodes[t.ID]; ok {
				argoName = loopSuffix.ReplaceAllString(node.DisplayName, "")
			}
		}
		if dt, ok := dag[argoName]; ok {
			if dt.When != "" {
				n.Kind = "condition"
			}
			if len(dt.WithItems) > 0 || dt.WithParam != "" || dt.WithSequence != nil {
				n.Kind = "loop"
			}
		}
		if t.Type == string(wfv1.NodeTypeTaskGroup) {
			n.Kind = "loop"
		}
		index[argoName] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
	}
	for name, to := range index {
		dt, ok := dag[name]
		if !ok {
			continue
		}
		deps := dt.Dependencies
		for _, tok := range dependsToken.FindAllString(dt.Depends, -1) {
			deps = append(deps, strings.SplitN(tok, ".", 2)[0])
		}
		seen := map[int]bool{}
		for _, dep := range deps {
			if from, ok := index[dep]; ok && !seen[from] && from != to {
				seen[from] = true
				g.Edges = append(g.Edges, GraphEdge{From: from, To: to})
			}
		}
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		if g.Edges[i].From != g.Edges[j].From {
			return g.Edges[i].From < g.Edges[j].From
		}
		return g.Edges[i].To < g.Edges[j].To
	})
	// Column = longest dependency chain before the node; a bounded relaxation, since records never hold
	// cycles but a hand-made Workflow could.
	for range g.Nodes {
		changed := false
		for _, e := range g.Edges {
			if c := g.Nodes[e.From].Col + 1; c > g.Nodes[e.To].Col {
				g.Nodes[e.To].Col, changed = c, true
			}
		}
		if !changed {
			break
		}
	}
	perCol := map[int]int{}
	for i := range g.Nodes {
		c := g.Nodes[i].Col
		g.Nodes[i].Row = perCol[c]
		perCol[c]++
		g.Cols = max(g.Cols, c+1)
		g.Rows = max(g.Rows, perCol[c])
	}
	return g
}
