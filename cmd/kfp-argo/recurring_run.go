package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/pipelines"
)

// recurringRunOptions are the flags every recurring-run subcommand shares.
type recurringRunOptions struct {
	kube      kubeFlags
	output    string
	noHeaders bool
}

func newRecurringRunCommand(e *env) *cobra.Command {
	o := &recurringRunOptions{}
	cmd := groupCommand(&cobra.Command{
		Use:     "recurring-run",
		Aliases: []string{"recurring-runs", "rr"},
		Short:   "Create, list, show, enable, disable and delete recurring runs (Argo CronWorkflows of a pipeline version)",
		Long: `A recurring run starts runs of an uploaded pipeline version on a schedule, in an experiment. It is an Argo
CronWorkflow whose workflow references the version's WorkflowTemplate; NAME@latest follows new uploads. Every
run it starts is recorded in the experiment (by kfp-argo sync, or by the next read).`,
	})
	o.kube.addFlags(cmd)
	cmd.PersistentFlags().StringVarP(&o.output, "output", "o", outTable, "output: table, wide, json, yaml or name")
	completeFlag(cmd, "output", completeValues(outTable, outWide, outJSON, outYAML, outName))
	for _, c := range []*cobra.Command{newRecurringRunGetCommand(e, o), newRecurringRunEnableCommand(e, o, true),
		newRecurringRunEnableCommand(e, o, false), newRecurringRunDeleteCommand(e, o)} {
		c.ValidArgsFunction = completeRecurringRuns(e, &o.kube)
		cmd.AddCommand(c)
	}
	cmd.AddCommand(newRecurringRunCreateCommand(e, o), newRecurringRunListCommand(e, o))
	return cmd
}

func (o *recurringRunOptions) connect(e *env, allowed ...string) (*pipelines.Store, error) {
	if err := checkOutput(o.output, allowed...); err != nil {
		return nil, err
	}
	return e.pipelines(&o.kube)
}

// scheduleText says a recurring run's schedule in one line.
func scheduleText(rr pipelines.RecurringRun) string {
	s := rr.Schedule
	var parts []string
	switch {
	case s.Every != "":
		parts = append(parts, "every "+s.Every)
	case s.Cron != "":
		parts = append(parts, "cron "+s.Cron)
	default:
		parts = append(parts, strings.Join(rr.Schedules, ", "))
	}
	if s.Timezone != "" {
		parts = append(parts, "in "+s.Timezone)
	}
	if !s.Start.IsZero() {
		parts = append(parts, "from "+s.Start.UTC().Format(time.RFC3339))
	}
	if !s.End.IsZero() {
		parts = append(parts, "until "+s.End.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}

func enabledText(rr pipelines.RecurringRun) string {
	switch {
	case rr.Phase == "Stopped":
		return "ENDED"
	case rr.Enabled:
		return "ENABLED"
	}
	return "DISABLED"
}

// printRecurringRuns shows recurring runs as a table or as data.
func (o *recurringRunOptions) printRecurringRuns(w io.Writer, now time.Time, rrs []pipelines.RecurringRun, asList bool) error {
	switch o.output {
	case outJSON, outYAML:
		if !asList && len(rrs) == 1 {
			return printData(w, o.output, rrs[0])
		}
		return printData(w, o.output, listObject(rrs))
	case outName:
		for _, rr := range rrs {
			fmt.Fprintf(w, "recurring-run/%s\n", rr.Name)
		}
		return nil
	}
	header := []string{"NAME", "EXPERIMENT", "PIPELINE", "VERSION", "SCHEDULE", "STATE", "LAST RUN", "AGE"}
	if o.output == outWide {
		header = append(header, "NEXT RUN", "ACTIVE", "SUCCEEDED", "FAILED")
	}
	var rows [][]string
	for _, rr := range rrs {
		last := "-"
		if !rr.LastScheduled.IsZero() {
			last = age(now, rr.LastScheduled)
		}
		row := []string{rr.Name, rr.Experiment, rr.RefText, rr.Version, scheduleText(rr), enabledText(rr), last, age(now, rr.CreatedAt)}
		if o.output == outWide {
			next := "-"
			if n := rr.NextRuns(now, 1); len(n) > 0 {
				next = n[0].Format(time.RFC3339)
			}
			row = append(row, next, fmt.Sprint(len(rr.Active)), fmt.Sprint(rr.Succeeded), fmt.Sprint(rr.Failed))
		}
		rows = append(rows, row)
	}
	if o.noHeaders {
		header = nil
	}
	return table(w, header, rows)
}
