package experiments

import (
	"sort"
	"strconv"
)

// Comparison puts runs side by side for `run compare`: one column per run, one row per parameter and per
// metric that any of them has. A value a run lacks is "" (Present false), which a table shows as blank
// and JSON/CSV as null/empty, never as 0.
type Comparison struct {
	Runs       []ComparedRun   `json:"runs"`
	Parameters []ComparisonRow `json:"parameters"`
	Metrics    []ComparisonRow `json:"metrics"`
}

// ComparedRun is a column header.
type ComparedRun struct {
	Name       string `json:"name"`
	Experiment string `json:"experiment"`
	State      State  `json:"state"`
}

// ComparisonRow is one parameter or metric across the runs, in the order of Comparison.Runs.
type ComparisonRow struct {
	Name   string      `json:"name"`
	Values []CellValue `json:"values"`
	// Differs is true when the runs that have the value do not all agree (or some lack it), which is
	// what a reader looks for first.
	Differs bool `json:"differs"`
}

// CellValue is one run's value; metrics are formatted with the shortest exact decimal ('g', -1).
type CellValue struct {
	Value   string `json:"value"`
	Present bool   `json:"present"`
}

// Compare builds the side-by-side view of runs, in the order given.
func Compare(runs []Run) Comparison {
	c := Comparison{Runs: make([]ComparedRun, len(runs))}
	paramNames := map[string]bool{}
	for i, r := range runs {
		c.Runs[i] = ComparedRun{Name: r.Name, Experiment: r.Experiment, State: r.State}
		for k := range r.Parameters {
			paramNames[k] = true
		}
	}
	names := make([]string, 0, len(paramNames))
	for k := range paramNames {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		c.Parameters = append(c.Parameters, row(name, runs, func(r Run) (string, bool) {
			v, ok := r.Parameters[name]
			return v, ok
		}))
	}
	for _, name := range MetricNames(runs) {
		c.Metrics = append(c.Metrics, row(name, runs, func(r Run) (string, bool) {
			v, ok := r.Metrics[name]
			return strconv.FormatFloat(v, 'g', -1, 64), ok
		}))
	}
	return c
}

func row(name string, runs []Run, get func(Run) (string, bool)) ComparisonRow {
	out := ComparisonRow{Name: name, Values: make([]CellValue, len(runs))}
	for i, r := range runs {
		v, ok := get(r)
		if !ok {
			v = ""
		}
		out.Values[i] = CellValue{Value: v, Present: ok}
		if i > 0 && out.Values[i] != out.Values[0] {
			out.Differs = true
		}
	}
	return out
}
