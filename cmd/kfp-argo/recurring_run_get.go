package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
)

// recurringRunDetail is what `recurring-run get -o json|yaml` prints: the recurring run, its next run times
// and its last runs.
type recurringRunDetail struct {
	pipelines.RecurringRun
	NextRuns []time.Time      `json:"nextRuns"`
	LastRuns []recurringRunOf `json:"lastRuns"`
}

type recurringRunOf struct {
	Name    string            `json:"name"`
	Version string            `json:"pipelineVersion,omitempty"`
	State   experiments.State `json:"state"`
	Created time.Time         `json:"createdAt"`
}

func newRecurringRunGetCommand(e *env, o *recurringRunOptions) *cobra.Command {
	var last int
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a recurring run: schedule, next run times, last runs and their states",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rr, err := store.GetRecurringRun(ctx, args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if o.output == outName {
				_, err := fmt.Fprintf(w, "recurring-run/%s\n", rr.Name)
				return err
			}
			runs, err := e.runs(&o.kube)
			if err != nil {
				return err
			}
			// Reads reconcile: the states shown are the Workflows' current ones, with or without sync.
			list, err := runs.List(ctx, experiments.RunFilter{RecurringRun: rr.Name})
			if err != nil && len(list) == 0 {
				return err
			}
			now := e.now()
			d := recurringRunDetail{RecurringRun: rr, NextRuns: rr.NextRuns(now, 3), LastRuns: []recurringRunOf{}}
			for i, r := range list {
				if i == last {
					break
				}
				d.LastRuns = append(d.LastRuns, recurringRunOf{Name: r.Name, Version: r.PipelineVersion, State: r.State, Created: r.CreatedAt})
			}
			if o.output == outJSON || o.output == outYAML {
				return printData(w, o.output, d)
			}
			next := make([]string, 0, len(d.NextRuns))
			for _, t := range d.NextRuns {
				next = append(next, t.Format(time.RFC3339))
			}
			kv := [][2]string{{"Name:", rr.Name}, {"Experiment:", rr.Experiment}, {"Pipeline:", rr.RefText}, {"Version:", rr.Version},
				{"Schedule:", scheduleText(rr)}, {"Argo schedule:", strings.Join(rr.Schedules, ", ")}, {"State:", enabledText(rr)},
				{"Next runs:", orDash(strings.Join(next, ", "))}, {"Last scheduled:", timeOrDash(rr.LastScheduled)},
				{"Active:", orDash(strings.Join(rr.Active, ", "))}, {"Succeeded:", fmt.Sprint(rr.Succeeded)}, {"Failed:", fmt.Sprint(rr.Failed)},
				{"Created:", timeOrDash(rr.CreatedAt)}}
			if rr.Schedule.MaxConcurrency > 0 {
				kv = append(kv, [2]string{"Max concurrency:", fmt.Sprint(rr.Schedule.MaxConcurrency)})
			}
			if rr.Schedule.NoCatchup {
				kv = append(kv, [2]string{"Catch-up:", "no"})
			}
			if rr.Description != "" {
				kv = append(kv, [2]string{"Description:", rr.Description})
			}
			for _, c := range rr.Conditions {
				kv = append(kv, [2]string{"Condition:", c})
			}
			for _, row := range kv {
				fmt.Fprintf(w, "%-16s %s\n", row[0], row[1])
			}
			printParameters(w, rr.Parameters)
			if len(d.LastRuns) > 0 {
				fmt.Fprintln(w)
				rows := make([][]string, 0, len(d.LastRuns))
				for _, r := range d.LastRuns {
					rows = append(rows, []string{r.Name, orDash(r.Version), string(r.State), age(now, r.Created)})
				}
				if terr := table(w, []string{"RUN", "VERSION", "STATE", "AGE"}, rows); terr != nil {
					return terr
				}
			}
			return err
		},
	}
	cmd.Flags().IntVar(&last, "last", 5, "how many of the last runs to show")
	return cmd
}
