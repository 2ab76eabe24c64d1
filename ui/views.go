package ui

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kfp-argo/kfp-argo/experiments"
)

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// RunView is the run page's (and the report's) content.
type RunView struct {
	D         RunDetail
	Graph     Graph
	Timeline  []TimelineBar
	Tasks     []TaskRow
	Artifacts []ArtifactView
	Metrics   []Cell2
	Classes   []ClassView
	Static    bool
}

// Cell2 is a named value.
type Cell2 struct{ Name, Value string }

// TaskRow is a task row with its nesting depth for the table.
type TaskRow struct {
	T       experiments.Task
	Label   string
	Depth   int
	Outputs []Cell2
}

// TimelineBar places a task on the Gantt chart in percent of the run's span.
type TimelineBar struct {
	Label       string
	State       experiments.State
	Left, Width float64
	Span        string
}

// ArtifactView is an artifact with why its contents are or are not shown.
type ArtifactView struct {
	A Artifact
	// Contents is the rendered visualisation (Markdown as sanitized HTML), when read.
	Contents template.HTML
	// HTML is a system.HTML document, shown in a sandboxed iframe (no script, no same-origin access).
	HTML string
	// Note says why contents are not shown.
	Note string
}

// ClassView is a ClassificationMetrics artifact drawn: ROC chart and confusion matrix.
type ClassView struct {
	C   ClassificationMetrics
	ROC template.URL
	CM  ConfusionView
}

// ConfusionView is a confusion matrix as table cells with a shade per cell.
type ConfusionView struct {
	Labels []string
	Rows   [][]ConfusionCell
}

// ConfusionCell is one count with its share of the row for shading.
type ConfusionCell struct {
	Value string
	Shade int // 0..100
}

func confusionView(c ClassificationMetrics) ConfusionView {
	v := ConfusionView{Labels: c.Labels}
	for _, row := range c.Confusion {
		total := 0.0
		for _, x := range row {
			total += x
		}
		cells := make([]ConfusionCell, len(row))
		for i, x := range row {
			shade := 0
			if total > 0 {
				shade = int(math.Round(100 * x / total))
			}
			cells[i] = ConfusionCell{Value: formatFloat(x), Shade: shade / 10 * 10}
		}
		v.Rows = append(v.Rows, cells)
	}
	return v
}

func newRunView(d RunDetail, static bool) (RunView, error) {
	v := RunView{D: d, Graph: d.Graph(), Static: static}
	depth := map[string]int{}
	for _, t := range d.Run.Tasks {
		dep := 0
		if t.Parent != "" {
			dep = depth[t.Parent] + 1
		}
		depth[t.ID] = dep
		row := TaskRow{T: t, Label: taskLabel(t), Depth: dep}
		for _, k := range sortedKeys(t.Outputs) {
			row.Outputs = append(row.Outputs, Cell2{k, t.Outputs[k]})
		}
		v.Tasks = append(v.Tasks, row)
	}
	v.Timeline = timeline(d)
	for _, k := range sortedKeys(d.Run.Metrics) {
		v.Metrics = append(v.Metrics, Cell2{k, formatFloat(d.Run.Metrics[k])})
	}
	for _, a := range d.Artifacts() {
		v.Artifacts = append(v.Artifacts, d.artifactView(a))
	}
	for _, c := range d.Classification() {
		cv := ClassView{C: c, CM: confusionView(c)}
		if len(c.ROC) > 0 {
			uri, err := rocChart(c.Task+" ROC", []rocCurve{{Name: d.Run.Name, Points: c.ROC}})
			if err != nil {
				return RunView{}, err
			}
			cv.ROC = uri
		}
		v.Classes = append(v.Classes, cv)
	}
	return v, nil
}

// artifactView reads and renders a Markdown or HTML visualisation; what cannot be read says why.
func (d RunDetail) artifactView(a Artifact) ArtifactView {
	v := ArtifactView{A: a}
	if a.Schema != "system.Markdown" && a.Schema != "system.HTML" {
		return v
	}
	if d.Read == nil {
		v.Note = "Contents not shown: artifact contents are not read here."
		return v
	}
	data, err := d.Read(a)
	if err != nil {
		v.Note = "Contents not shown: " + err.Error()
		return v
	}
	if a.Schema == "system.HTML" {
		v.HTML = string(data)
		return v
	}
	html, err := renderMarkdown(data)
	if err != nil {
		v.Note = "Contents not shown: " + err.Error()
		return v
	}
	v.Contents = html
	return v
}

func timeline(d RunDetail) []TimelineBar {
	var start, end time.Time
	for _, t := range d.Run.Tasks {
		if t.Started.IsZero() {
			continue
		}
		if start.IsZero() || t.Started.Before(start) {
			start = t.Started
		}
		f := t.Finished
		if f.IsZero() {
			f = d.Now
		}
		if f.After(end) {
			end = f
		}
	}
	span := end.Sub(start).Seconds()
	if start.IsZero() || span <= 0 {
		span = 1
	}
	var out []TimelineBar
	for _, t := range d.Run.Tasks {
		if t.Started.IsZero() || t.Type == "DAG" || t.Type == "TaskGroup" {
			continue
		}
		f := t.Finished
		if f.IsZero() {
			f = d.Now
		}
		left := t.Started.Sub(start).Seconds() / span * 100
		width := math.Max(f.Sub(t.Started).Seconds()/span*100, 0.5)
		out = append(out, TimelineBar{Label: taskLabel(t), State: t.State, Left: math.Min(left, 99.5), Width: math.Min(width, 100-math.Min(left, 99.5)),
			Span: f.Sub(t.Started).Round(time.Second).String()})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CompareView is the compare page's content.
type CompareView struct {
	Runs       []RunDetail
	Params     []CompareRow
	Metrics    []CompareRow
	Charts     []Chart
	ROC        []Chart
	Confusions []ConfusionGroup
	Visuals    []VisualRow
}

// CompareRow is one parameter or metric across runs.
type CompareRow struct {
	Name    string
	Cells   []CompareCell
	Differs bool
}

// CompareCell is one run's value; Best marks the best metric value.
type CompareCell struct {
	Value   string
	Present bool
	Best    bool
}

// Chart is a titled SVG chart.
type Chart struct {
	Title string
	URI   template.URL
}

// ConfusionGroup is one classification artifact's confusion matrices, one per run.
type ConfusionGroup struct {
	Title string
	Cells []ConfusionOfRun
}

// ConfusionOfRun is a run's matrix (Missing when that run has none).
type ConfusionOfRun struct {
	Run     string
	M       ConfusionView
	Missing bool
}

// VisualRow is one Markdown/HTML artifact across runs.
type VisualRow struct {
	Title string
	Cells []*ArtifactView
}

// lowerIsBetter guesses a metric's direction from its name, as people name losses and errors.
func lowerIsBetter(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"loss", "error", "mse", "rmse", "mae", "latency", "duration", "fpr"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func newCompareView(ds []RunDetail) (CompareView, error) {
	runs := make([]experiments.Run, len(ds))
	names := make([]string, len(ds))
	for i, d := range ds {
		runs[i] = d.Run
		names[i] = d.Run.Name
	}
	c := experiments.Compare(runs)
	v := CompareView{Runs: ds}
	for _, row := range c.Parameters {
		v.Params = append(v.Params, compareRow(row))
	}
	for _, row := range c.Metrics {
		cr := compareRow(row)
		vals := make([]float64, len(runs))
		present := make([]bool, len(runs))
		best := math.NaN()
		low := lowerIsBetter(row.Name)
		for i, r := range runs {
			vals[i], present[i] = r.Metrics[row.Name]
			if present[i] && (math.IsNaN(best) || (low && vals[i] < best) || (!low && vals[i] > best)) {
				best = vals[i]
			}
		}
		for i := range cr.Cells {
			cr.Cells[i].Best = present[i] && vals[i] == best && row.Differs
		}
		v.Metrics = append(v.Metrics, cr)
		uri, err := metricBarChart(row.Name, names, vals, present)
		if err != nil {
			return CompareView{}, err
		}
		v.Charts = append(v.Charts, Chart{Title: row.Name, URI: uri})
	}
	// ROC curves and confusion matrices, grouped by task/artifact across runs.
	type key struct{ task, art string }
	var keys []key
	curves := map[key][]rocCurve{}
	mats := map[key][]ConfusionOfRun{}
	for i, d := range ds {
		for _, cm := range d.Classification() {
			k := key{cm.Task, cm.Artifact}
			if _, ok := mats[k]; !ok {
				keys = append(keys, k)
				mats[k] = make([]ConfusionOfRun, len(ds))
				for j := range ds {
					mats[k][j] = ConfusionOfRun{Run: ds[j].Run.Name, Missing: true}
				}
			}
			if len(cm.ROC) > 0 {
				curves[k] = append(curves[k], rocCurve{Name: d.Run.Name, Color: i, Points: cm.ROC})
			}
			if len(cm.Confusion) > 0 {
				mats[k][i] = ConfusionOfRun{Run: d.Run.Name, M: confusionView(cm)}
			}
		}
	}
	for _, k := range keys {
		title := k.task + " / " + k.art
		if len(curves[k]) > 0 {
			uri, err := rocChart("ROC "+k.task, curves[k])
			if err != nil {
				return CompareView{}, err
			}
			v.ROC = append(v.ROC, Chart{Title: title, URI: uri})
		}
		has := false
		for _, m := range mats[k] {
			has = has || !m.Missing
		}
		if has {
			v.Confusions = append(v.Confusions, ConfusionGroup{Title: title, Cells: mats[k]})
		}
	}
	visuals := map[string]*VisualRow{}
	var vorder []string
	for i, d := range ds {
		for _, a := range d.Artifacts() {
			if a.Schema != "system.Markdown" && a.Schema != "system.HTML" {
				continue
			}
			t := a.Task + " / " + a.Name
			if visuals[t] == nil {
				visuals[t] = &VisualRow{Title: t, Cells: make([]*ArtifactView, len(ds))}
				vorder = append(vorder, t)
			}
			av := d.artifactView(a)
			visuals[t].Cells[i] = &av
		}
	}
	for _, t := range vorder {
		v.Visuals = append(v.Visuals, *visuals[t])
	}
	return v, nil
}

func compareRow(row experiments.ComparisonRow) CompareRow {
	out := CompareRow{Name: row.Name, Differs: row.Differs}
	for _, c := range row.Values {
		out.Cells = append(out.Cells, CompareCell{Value: c.Value, Present: c.Present})
	}
	return out
}

// stateClass is the CSS class of a state.
func stateClass(s experiments.State) string { return "st-" + strings.ToLower(string(s)) }

// pct formats a percentage for inline style widths.
func pct(f float64) string { return fmt.Sprintf("%.2f%%", f) }
