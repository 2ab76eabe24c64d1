package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
)

type recurringRunCreateOptions struct {
	*recurringRunOptions
	experiment, pipeline, description string
	params                            []string
	paramsFile                        string
	schedule                          pipelines.Schedule
	start, end                        string
}

func newRecurringRunCreateCommand(e *env, parent *recurringRunOptions) *cobra.Command {
	o := &recurringRunCreateOptions{recurringRunOptions: parent}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a recurring run of a pipeline version in an experiment",
		Long: `Creates an Argo CronWorkflow that starts runs of the pipeline version on the schedule, each recorded in the
experiment (created if missing). --pipeline NAME or NAME@latest follows new uploads; NAME@VERSION stays on that
version. Everything is checked before anything is created: the pipeline and version, the schedule, and the
parameters against the pipeline's inputs.`,
		Example: `  kfp-argo recurring-run create nightly -e training --pipeline training@latest --cron "0 2 * * *" -p epochs=5
  kfp-argo recurring-run create hourly -e training --pipeline training@v2 --every 1h --max-concurrency 1 --no-catchup`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.runE(cmd, e, args[0]) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.experiment, "experiment", "e", experiments.DefaultExperiment, "experiment of the runs (created if missing)")
	f.StringVar(&o.pipeline, "pipeline", "", "pipeline version to run: NAME, NAME@VERSION or NAME@latest (NAME alone is NAME@latest)")
	f.StringVar(&o.description, "description", "", "what the recurring run is for")
	f.StringArrayVarP(&o.params, "parameter", "p", nil, "pipeline input NAME=VALUE (repeatable); VALUE is read per the input's type")
	f.StringVar(&o.paramsFile, "params-file", "", "JSON or YAML file with pipeline input values")
	f.StringVar(&o.schedule.Cron, "cron", "", `cron expression ("0 2 * * *"; KFP's 6-field form with seconds 0 is accepted)`)
	f.StringVar(&o.schedule.Every, "every", "", "interval between runs, at least 1m (e.g. 1h, 90m)")
	f.IntVar(&o.schedule.MaxConcurrency, "max-concurrency", 1, "at most this many runs at once; 1 (KFP's CLI default) skips a run while one is active; 0: no cap")
	f.BoolVar(&o.schedule.NoCatchup, "no-catchup", false, "skip runs missed while the controller was down (default: start the latest missed one late)")
	f.StringVar(&o.start, "start", "", "first time a run may start (RFC 3339, e.g. 2026-12-24T00:00:00Z)")
	f.StringVar(&o.end, "end", "", "time after which no run starts (RFC 3339)")
	f.StringVar(&o.schedule.Timezone, "timezone", "", "time zone of the cron expression (e.g. Europe/Berlin; default: the controller's)")
	_ = cmd.MarkFlagRequired("pipeline")
	completeFlag(cmd, "experiment", completeExperiments(e, &parent.kube, false))
	completeFlag(cmd, "pipeline", completePipelines(e, &parent.kube, false))
	return cmd
}

func (o *recurringRunCreateOptions) runE(cmd *cobra.Command, e *env, name string) error {
	store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
	if err != nil {
		return err
	}
	for _, t := range []struct {
		flag, text string
		dst        *time.Time
	}{{"--start", o.start, &o.schedule.Start}, {"--end", o.end, &o.schedule.End}} {
		if t.text == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.text)
		if err != nil {
			return fmt.Errorf("%s %q: expected an RFC 3339 time such as 2026-12-24T00:00:00Z", t.flag, t.text)
		}
		*t.dst = v.UTC()
	}
	ref, err := pipelines.ParseRef(o.pipeline)
	if err != nil {
		return err
	}
	params, err := readParameters(o.params, o.paramsFile)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	cw, err := store.NewRecurringRun(ctx, pipelines.RecurringRunRequest{Name: name, Experiment: o.experiment, Description: o.description,
		Ref: ref, Schedule: o.schedule, Parameters: params})
	if err != nil {
		return err
	}
	// The experiment's record exists before the first run needs it; an archived one is refused.
	runs, err := e.runs(&o.kube)
	if err != nil {
		return err
	}
	exp, err := runs.Store.GetExperiment(ctx, o.experiment)
	if errors.Is(err, experiments.ErrNotFound) {
		exp, err = runs.Store.CreateExperiment(ctx, experiments.Experiment{Name: o.experiment})
		if errors.Is(err, experiments.ErrAlreadyExists) {
			exp, err = runs.Store.GetExperiment(ctx, o.experiment)
		}
	}
	if err != nil {
		return err
	}
	if exp.StorageState == experiments.StorageArchived {
		return fmt.Errorf("experiment %q: %w; unarchive it first", o.experiment, experiments.ErrExperimentArchived)
	}
	rr, err := store.CreateRecurringRun(ctx, cw)
	if err != nil {
		return err
	}
	if o.output == outTable {
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "recurring-run/%s created (%s, %s, experiment %q)\n", rr.Name, rr.RefText+" = "+rr.Version, scheduleText(rr), rr.Experiment)
		return err
	}
	return o.printRecurringRuns(cmd.OutOrStdout(), e.now(), []pipelines.RecurringRun{rr}, false)
}
