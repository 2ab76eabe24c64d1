package main

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/experiments"
)

func (o *runOptions) compareCommand(e *env) *cobra.Command {
	var experiment string
	cmd := &cobra.Command{
		Use:   "compare (-e EXPERIMENT | RUN RUN...)",
		Short: "Put runs side by side: one column per run, one row per parameter and metric",
		Long: `Compares the named runs, or every run of an experiment (oldest first). Rows where the runs differ are
marked with *; a value a run does not have is left blank (null in JSON/YAML, empty in CSV), never shown as 0.`,
		Example: `  kfp-argo run compare -e lr-sweep
  kfp-argo run compare train-a1b2c train-d3e4f -o csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (experiment == "") == (len(args) == 0) {
				return fmt.Errorf("give either -e EXPERIMENT or run names")
			}
			runs, err := o.connect(e, outTable, outJSON, outYAML, outCSV)
			if err != nil {
				return err
			}
			if experiment != "" {
				if experiment, err = runs.Store.ResolveExperiment(cmd.Context(), experiment); err != nil {
					return err
				}
			}
			c, err := runs.CompareRuns(cmd.Context(), experiment, args)
			if err != nil {
				return err
			}
			return printComparison(cmd.OutOrStdout(), o.output, c)
		},
	}
	cmd.Flags().StringVarP(&experiment, "experiment", "e", "", "compare the runs of this experiment")
	return cmd
}

func printComparison(w io.Writer, format string, c experiments.Comparison) error {
	switch format {
	case outJSON, outYAML:
		return printData(w, format, c)
	case outCSV:
		cw := csv.NewWriter(w)
		header := []string{"kind", "name"}
		for _, r := range c.Runs {
			header = append(header, r.Name)
		}
		_ = cw.Write(append(header, "differs"))
		state := []string{"run", "state"}
		for _, r := range c.Runs {
			state = append(state, string(r.State))
		}
		_ = cw.Write(append(state, ""))
		for _, sec := range []struct {
			kind string
			rows []experiments.ComparisonRow
		}{{"parameter", c.Parameters}, {"metric", c.Metrics}} {
			for _, row := range sec.rows {
				rec := []string{sec.kind, row.Name}
				for _, v := range row.Values {
					rec = append(rec, v.Value)
				}
				_ = cw.Write(append(rec, fmt.Sprint(row.Differs)))
			}
		}
		cw.Flush()
		return cw.Error()
	}
	header := []string{""}
	for _, r := range c.Runs {
		header = append(header, r.Name)
	}
	rows := [][]string{}
	add := func(label string, cells []string) { rows = append(rows, append([]string{label}, cells...)) }
	var exps, states []string
	for _, r := range c.Runs {
		exps = append(exps, r.Experiment)
		states = append(states, string(r.State))
	}
	add("experiment", exps)
	add("state", states)
	for _, sec := range []struct {
		title string
		rows  []experiments.ComparisonRow
	}{{"parameters", c.Parameters}, {"metrics", c.Metrics}} {
		if len(sec.rows) == 0 {
			continue
		}
		add(sec.title+":", make([]string, len(c.Runs)))
		for _, row := range sec.rows {
			label := "  " + row.Name
			if row.Differs {
				label = "* " + row.Name
			}
			cells := make([]string, len(row.Values))
			for i, v := range row.Values {
				cells[i] = v.Value
			}
			add(label, cells)
		}
	}
	return table(w, header, rows)
}
