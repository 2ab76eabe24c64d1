package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kfp-argo/kfp-argo/experiments"
)

type experimentOptions struct {
	kube      kubeFlags
	output    string
	noHeaders bool
}

func newExperimentCommand(e *env) *cobra.Command {
	o := &experimentOptions{}
	cmd := groupCommand(&cobra.Command{
		Use:     "experiment",
		Aliases: []string{"experiments", "exp"},
		Short:   "Create, list, archive and delete experiments (groups of runs, kept as ConfigMaps)",
	})
	o.kube.addFlags(cmd)
	cmd.PersistentFlags().StringVarP(&o.output, "output", "o", outTable, "output: table, wide, json, yaml or name")

	var description, displayName string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an experiment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			exp, err := runs.Store.CreateExperiment(cmd.Context(), experiments.Experiment{Name: args[0], DisplayName: displayName, Description: description})
			if err != nil {
				return explain(err, "experiment", args[0], o.kube.ns)
			}
			if o.output == outTable {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "experiment/%s created\n", exp.Name)
				return err
			}
			return o.print(cmd.OutOrStdout(), e.now(), []experiments.Experiment{exp}, nil, false)
		},
	}
	create.Flags().StringVar(&description, "description", "", "what the experiment is for")
	create.Flags().StringVar(&displayName, "display-name", "", "display name (default: the name)")

	var all, archived, allNamespaces bool
	var selector string
	list := &cobra.Command{
		Use:   "list",
		Short: "List experiments (available ones unless --archived or --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, outTable, outWide, outJSON, outYAML, outName); err != nil {
				return err
			}
			var err error
			f := experiments.ExperimentFilter{StorageState: experiments.StorageAvailable}
			if archived {
				f.StorageState = experiments.StorageArchived
			}
			if all {
				f.StorageState = ""
			}
			if selector != "" {
				if f.Selector, err = labels.Parse(selector); err != nil {
					return fmt.Errorf("--selector: %w", err)
				}
			}
			var spaces []nsRuns
			if allNamespaces {
				if spaces, err = e.allNamespaces(cmd.Context(), &o.kube); err != nil {
					return err
				}
			} else {
				runs, err := e.runs(&o.kube)
				if err != nil {
					return err
				}
				spaces = []nsRuns{{ns: o.kube.ns, runs: runs}}
			}
			var exps []experiments.Experiment
			var namespaces []string
			var errs []error
			for _, sp := range spaces {
				some, err := sp.runs.Store.ListExperiments(cmd.Context(), f)
				if err != nil {
					errs = append(errs, err)
				}
				for _, x := range some {
					exps = append(exps, x)
					namespaces = append(namespaces, sp.ns)
				}
			}
			err = errors.Join(errs...)
			if err != nil && len(exps) == 0 {
				// Nothing to show (the cluster is unreachable, ...): no table header above the error.
				return err
			}
			if !allNamespaces {
				namespaces = nil
			}
			if perr := o.print(cmd.OutOrStdout(), e.now(), exps, namespaces, true); perr != nil {
				return perr
			}
			return err
		},
	}
	list.Flags().BoolVar(&all, "all", false, "list archived experiments too")
	list.Flags().BoolVar(&archived, "archived", false, "list archived experiments only")
	list.Flags().StringVarP(&selector, "selector", "l", "", "label selector on the experiment records")
	list.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the experiments of every namespace")
	list.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print no header line")

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an experiment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			name, err := runs.Store.ResolveExperiment(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "experiment", args[0], o.kube.ns)
			}
			exp, err := runs.Store.GetExperiment(cmd.Context(), name)
			if err != nil {
				return explain(err, "experiment", name, o.kube.ns)
			}
			return o.print(cmd.OutOrStdout(), e.now(), []experiments.Experiment{exp}, nil, false)
		},
	}

	archive := &cobra.Command{
		Use:   "archive NAME",
		Short: "Archive an experiment and its runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			name, err := runs.Store.ResolveExperiment(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "experiment", args[0], o.kube.ns)
			}
			if err := runs.Store.ArchiveExperiment(cmd.Context(), name); err != nil {
				return explain(err, "experiment", name, o.kube.ns)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "experiment/%s archived\n", name)
			return nil
		},
	}
	unarchive := &cobra.Command{
		Use:   "unarchive NAME",
		Short: "Make an archived experiment available again (its runs stay archived, as in KFP)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			name, err := runs.Store.ResolveExperiment(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "experiment", args[0], o.kube.ns)
			}
			if err := runs.Store.UnarchiveExperiment(cmd.Context(), name); err != nil {
				return explain(err, "experiment", name, o.kube.ns)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "experiment/%s unarchived\n", name)
			return nil
		},
	}
	var withRuns bool
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an experiment; refused while it has runs unless --with-runs (which deletes their workflows and records)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			name, err := runs.Store.ResolveExperiment(ctx, args[0])
			if err != nil {
				return explain(err, "experiment", args[0], o.kube.ns)
			}
			if _, err := runs.Store.GetExperiment(ctx, name); err != nil {
				return explain(err, "experiment", name, o.kube.ns)
			}
			if !withRuns {
				if list, err := runs.Store.ListRuns(ctx, experiments.RunFilter{Experiment: name}); err == nil && len(list) > 0 {
					n := fmt.Sprintf("%d runs", len(list))
					if len(list) == 1 {
						n = "1 run"
					}
					return &userError{fmt.Sprintf("experiment %q has %s: delete them first or use --with-runs", name, n), experiments.ErrExperimentHasRuns}
				}
			}
			if withRuns {
				// Workflows first, each before its record (Runs.Delete), so no Workflow is left whose record
				// sync would bring back into a deleted experiment.
				list, err := runs.List(ctx, experiments.RunFilter{Experiment: name})
				if err != nil {
					return err
				}
				for _, r := range list {
					if err := runs.Delete(ctx, r.Name); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "run/%s deleted\n", r.Name)
				}
			}
			if _, err := runs.Store.DeleteExperiment(ctx, name, withRuns); err != nil {
				return explain(err, "experiment", name, o.kube.ns)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "experiment/%s deleted\n", name)
			return nil
		},
	}
	del.Flags().BoolVar(&withRuns, "with-runs", false, "also delete the experiment's runs (workflows and records)")

	completeFlag(cmd, "output", completeValues(outTable, outWide, outJSON, outYAML, outName))
	for _, c := range []*cobra.Command{get, archive, unarchive, del} {
		c.ValidArgsFunction = completeExperiments(e, &o.kube, true)
	}
	cmd.AddCommand(create, list, get, archive, unarchive, del)
	return cmd
}

func (o *experimentOptions) connect(e *env) (*experiments.Runs, error) {
	if err := checkOutput(o.output, outTable, outWide, outJSON, outYAML, outName); err != nil {
		return nil, err
	}
	return e.runs(&o.kube)
}

// print shows experiments, with a NAMESPACE column when namespaces (one per experiment) are given; asList
// keeps JSON/YAML a List even for one item, so scripts see one shape per verb.
func (o *experimentOptions) print(w io.Writer, now time.Time, exps []experiments.Experiment, namespaces []string, asList bool) error {
	switch o.output {
	case outJSON, outYAML:
		if !asList && len(exps) == 1 {
			return printData(w, o.output, exps[0])
		}
		return printData(w, o.output, listObject(exps))
	case outName:
		for _, x := range exps {
			fmt.Fprintf(w, "experiment/%s\n", experiments.ExperimentRef(x.Name))
		}
		return nil
	}
	header := []string{"NAME", "STATE", "CREATED", "LAST RUN"}
	if o.output == outWide {
		header = append(header, "DISPLAY NAME", "DESCRIPTION")
	}
	if namespaces != nil {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := make([][]string, 0, len(exps))
	for i, x := range exps {
		last := "-"
		if !x.LastRunAt.IsZero() {
			last = age(now, x.LastRunAt)
		}
		row := []string{x.Name, string(x.StorageState), age(now, x.CreatedAt), last}
		if o.output == outWide {
			row = append(row, orDash(x.DisplayName), orDash(x.Description))
		}
		if namespaces != nil {
			row = append([]string{namespaces[i]}, row...)
		}
		rows = append(rows, row)
	}
	if o.noHeaders {
		header = nil
	}
	return table(w, header, rows)
}
