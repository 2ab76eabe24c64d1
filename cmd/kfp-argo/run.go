package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
)

type runOptions struct {
	kube   kubeFlags
	output string
}

func newRunCommand(e *env) *cobra.Command {
	o := &runOptions{}
	cmd := groupCommand(&cobra.Command{
		Use:     "run",
		Aliases: []string{"runs"},
		Short:   "List, show, follow, stop, retry, compare and delete runs",
		Long: `A run is one execution of a pipeline; its name is its Workflow's name. Every read brings the run's
record (a ConfigMap) up to date with its Workflow, so the commands work without the sync controller.`,
	})
	o.kube.addFlags(cmd)
	cmd.PersistentFlags().StringVarP(&o.output, "output", "o", outTable, "output: table, wide, json, yaml or name (compare: table, json, yaml, csv)")
	completeFlag(cmd, "output", completeValues(outTable, outWide, outJSON, outYAML, outName, outCSV))
	one, many := completeRuns(e, &o.kube, false), completeRuns(e, &o.kube, true)
	list, compare := o.listCommand(e), o.compareCommand(e)
	completeFlag(list, "state", completeStates)
	completeFlag(list, "experiment", completeExperiments(e, &o.kube, false))
	completeFlag(compare, "experiment", completeExperiments(e, &o.kube, false))
	compare.ValidArgsFunction = many
	for _, c := range []*cobra.Command{o.getCommand(e), o.watchCommand(e), o.logsCommand(e),
		o.shutdownCommand(e, "terminate", "terminated", wfv1.ShutdownStrategyTerminate, "Terminate a run: running tasks are killed, exit handlers do not run"),
		o.shutdownCommand(e, "stop", "stopped", wfv1.ShutdownStrategyStop, "Stop a run: no new tasks start, exit handlers still run"),
		o.retryCommand(e)} {
		c.ValidArgsFunction = one
		cmd.AddCommand(c)
	}
	for _, c := range []*cobra.Command{o.storageCommand(e, "archive", experiments.StorageArchived),
		o.storageCommand(e, "unarchive", experiments.StorageAvailable), o.deleteCommand(e)} {
		c.ValidArgsFunction = many
		cmd.AddCommand(c)
	}
	cmd.AddCommand(list, compare, o.reportCommand(e))
	return cmd
}

func (o *runOptions) connect(e *env, allowed ...string) (*experiments.Runs, error) {
	if len(allowed) == 0 {
		allowed = []string{outTable, outWide, outJSON, outYAML, outName}
	}
	if err := checkOutput(o.output, allowed...); err != nil {
		return nil, err
	}
	return e.runs(&o.kube)
}

func (o *runOptions) listCommand(e *env) *cobra.Command {
	var experiment, state, selector, pipeline, recurring string
	var all, archived, allNamespaces, noHeaders, watch bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first (available ones unless --archived or --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, outTable, outWide, outJSON, outYAML, outName); err != nil {
				return err
			}
			if watch && o.output != outTable && o.output != outWide && o.output != outName {
				return fmt.Errorf("--watch prints rows: use -o table, wide or name")
			}
			f := experiments.RunFilter{Experiment: experiment, StorageState: experiments.StorageAvailable, RecurringRun: recurring}
			if pipeline != "" {
				ref, err := pipelines.ParseRef(pipeline)
				if err != nil {
					return err
				}
				f.Pipeline = ref.Pipeline
				if !ref.Latest() {
					f.PipelineVersion = ref.Version
				}
			}
			if archived {
				f.StorageState = experiments.StorageArchived
			}
			if all {
				f.StorageState = ""
			}
			var err error
			if state != "" {
				if f.State, err = experiments.ParseState(state); err != nil {
					return fmt.Errorf("--state: %w", err)
				}
			}
			if selector != "" {
				if f.Selector, err = labels.Parse(selector); err != nil {
					return fmt.Errorf("--selector: %w", err)
				}
			}
			ctx := cmd.Context()
			list := func() ([]nsRun, error) { return o.listRuns(ctx, e, f, allNamespaces) }
			rows, err := list()
			if err != nil && len(rows) == 0 {
				// Nothing to show (the cluster is unreachable, ...): no table header above the error.
				return err
			}
			tv := runTable{output: o.output, namespaces: allNamespaces, headers: !noHeaders}
			if perr := tv.print(cmd.OutOrStdout(), e.now(), rows); perr != nil {
				return perr
			}
			if err != nil || !watch {
				return err
			}
			return watchList(ctx, e, cmd.OutOrStdout(), tv, rows, list)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&experiment, "experiment", "e", "", "only runs of this experiment")
	f.StringVar(&pipeline, "pipeline", "", "only runs of this pipeline (NAME@VERSION: of that version)")
	f.StringVar(&recurring, "recurring-run", "", "only runs started by this recurring run")
	f.StringVar(&state, "state", "", "only runs in this state (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, ...)")
	f.StringVarP(&selector, "selector", "l", "", "label selector on the run records")
	f.BoolVar(&all, "all", false, "list archived runs too")
	f.BoolVar(&archived, "archived", false, "list archived runs only")
	f.BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the runs of every namespace")
	f.BoolVar(&noHeaders, "no-headers", false, "print no header line")
	f.BoolVarP(&watch, "watch", "w", false, "after the list, print a run again whenever it changes (until Ctrl-C)")
	return cmd
}

// nsRun is a run and its namespace.
type nsRun struct {
	ns string
	experiments.Run
}

// listRuns lists the runs of the command's namespace, or of all of them.
func (o *runOptions) listRuns(ctx context.Context, e *env, f experiments.RunFilter, all bool) ([]nsRun, error) {
	var spaces []nsRuns
	if all {
		var err error
		if spaces, err = e.allNamespaces(ctx, &o.kube); err != nil {
			return nil, err
		}
	} else {
		runs, err := e.runs(&o.kube)
		if err != nil {
			return nil, err
		}
		spaces = []nsRuns{{ns: o.kube.ns, runs: runs}}
	}
	var out []nsRun
	var errs []error
	for _, sp := range spaces {
		f := f
		if f.Experiment != "" {
			// -e takes what `experiment list -o name` prints, too.
			name, err := sp.runs.Store.ResolveExperiment(ctx, f.Experiment)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.Experiment = name
		}
		list, err := sp.runs.List(ctx, f)
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range list {
			out = append(out, nsRun{ns: sp.ns, Run: r})
		}
	}
	return out, errors.Join(errs...)
}

// watchList prints a run's row again each time its state or progress changed, as kubectl get -w, polling
// every two seconds until ctx ends (Ctrl-C).
func watchList(ctx context.Context, e *env, w io.Writer, tv runTable, rows []nsRun, list func() ([]nsRun, error)) error {
	seen := map[string]string{}
	key := func(r nsRun) string { return string(r.State) + "|" + r.Progress() + "|" + string(r.StorageState) }
	for _, r := range rows {
		seen[r.ns+"/"+r.Name] = key(r)
	}
	tv.headers = false
	ticks, stop := e.tick(2 * time.Second)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
		rows, err := list()
		if err != nil {
			return err
		}
		var changed []nsRun
		for _, r := range rows {
			if k := key(r); seen[r.ns+"/"+r.Name] != k {
				seen[r.ns+"/"+r.Name] = k
				changed = append(changed, r)
			}
		}
		if len(changed) > 0 {
			if err := tv.print(w, e.now(), changed); err != nil {
				return err
			}
		}
	}
}

// runTable prints runs in one of run list's formats.
type runTable struct {
	output     string
	namespaces bool // a NAMESPACE column (-A)
	headers    bool
}

func (tv runTable) print(w io.Writer, now time.Time, runs []nsRun) error {
	switch tv.output {
	case outJSON, outYAML:
		items := make([]experiments.Run, 0, len(runs))
		for _, r := range runs {
			items = append(items, r.Run)
		}
		return printData(w, tv.output, listObject(items))
	case outName:
		for _, r := range runs {
			fmt.Fprintf(w, "run/%s\n", r.Name)
		}
		return nil
	}
	header := []string{"NAME", "EXPERIMENT", "STATE", "TASKS", "DURATION", "AGE"}
	if tv.output == outWide {
		header = append(header, "PIPELINE", "DISPLAY NAME", "RETRIES", "STORAGE", "ERROR")
	}
	if tv.namespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		row := []string{r.Name, r.Experiment, string(r.State), r.Progress(), runDuration(now, r.Run), age(now, r.CreatedAt)}
		if tv.output == outWide {
			row = append(row, orDash(r.PipelineName), orDash(r.DisplayName), strconv.Itoa(r.RetryCount), string(r.StorageState), orDash(oneLine(r.Error, 60)))
		}
		if tv.namespaces {
			row = append([]string{r.ns}, row...)
		}
		rows = append(rows, row)
	}
	if !tv.headers {
		header = nil
	}
	return table(w, header, rows)
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return s
}

func (o *runOptions) getCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "get RUN",
		Short: "Show a run: state, parameters, tasks and metrics",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			r, err := runs.Get(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "run", args[0], o.kube.ns)
			}
			return o.printRun(cmd.OutOrStdout(), e.now(), r)
		},
	}
}

// printRun shows one run in detail (table, wide) or as its record (json, yaml).
func (o *runOptions) printRun(w io.Writer, now time.Time, r experiments.Run) error {
	switch o.output {
	case outJSON, outYAML:
		return printData(w, o.output, r)
	case outName:
		_, err := fmt.Fprintf(w, "run/%s\n", r.Name)
		return err
	}
	kv := [][]string{
		{"Name:", r.Name}, {"Display name:", r.DisplayName}, {"Experiment:", r.Experiment},
		{"Pipeline:", pipelineText(r)}, {"State:", string(r.State)}, {"Tasks:", r.Progress()},
		{"Created:", timeOrDash(r.CreatedAt)}, {"Started:", timeOrDash(r.StartedAt)}, {"Finished:", timeOrDash(r.FinishedAt)},
		{"Duration:", runDuration(now, r)},
	}
	if r.RecurringRun != "" {
		kv = append(kv, []string{"Recurring run:", r.RecurringRun})
	}
	if r.Error != "" {
		kv = append(kv, []string{"Error:", r.Error})
	}
	if r.RetryCount > 0 {
		kv = append(kv, []string{"Retries:", strconv.Itoa(r.RetryCount)})
	}
	if o.output == outWide {
		kv = append(kv, []string{"Workflow:", r.Workflow.Name + " (" + r.Workflow.UID + ")"}, []string{"Digest:", orDash(r.PipelineDigest)},
			[]string{"Storage:", string(r.StorageState)})
	}
	for _, row := range kv {
		fmt.Fprintf(w, "%-14s %s\n", row[0], row[1])
	}
	printParameters(w, r.Parameters)
	if len(r.Tasks) > 0 {
		fmt.Fprintln(w)
		header := []string{"TASK", "STATE", "STARTED", "DURATION", "ATTEMPTS"}
		if o.output == outWide {
			header = append(header, "TYPE", "POD", "MESSAGE")
		}
		var rows [][]string
		for _, t := range r.Tasks {
			name := t.DisplayName
			if name == "" {
				name = t.Name
			}
			for _, i := range t.Iteration {
				name += fmt.Sprintf("[%d]", i)
			}
			if t.Cached {
				name += " (cached)"
			}
			row := []string{name, string(t.State), timeOrDash(t.Started), taskDuration(now, t), strconv.Itoa(t.Attempts)}
			if o.output == outWide {
				msg := t.Error
				if t.State == experiments.StatePending {
					msg = t.Waiting
				}
				row = append(row, orDash(t.Type), orDash(t.Pod), orDash(oneLine(msg, 60)))
			}
			rows = append(rows, row)
		}
		if err := table(w, header, rows); err != nil {
			return err
		}
	}
	if len(r.Metrics) > 0 {
		fmt.Fprintln(w, "\nMetrics:")
		for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
			fmt.Fprintf(w, "  %s = %s\n", k, strconv.FormatFloat(r.Metrics[k], 'g', -1, 64))
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warn)
	}
	return nil
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func taskDuration(now time.Time, t experiments.Task) string {
	if t.Started.IsZero() {
		return "-"
	}
	end := t.Finished
	if end.IsZero() {
		end = now
	}
	return end.Sub(t.Started).Round(time.Second).String()
}

func (o *runOptions) watchCommand(e *env) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "watch RUN",
		Short: "Show a run's progress until it ends (redrawn on a terminal, one line per change otherwise)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			final, err := watchRun(cmd, e, runs, args[0], cmd.OutOrStdout())
			if err != nil {
				return explain(err, "run", args[0], o.kube.ns)
			}
			if final.State != experiments.StateSucceeded {
				return runNotSucceeded(final)
			}
			return nil
		},
	}
	// Watching always exits non-zero unless the run succeeded; --wait stays accepted for scripts that pass it.
	cmd.Flags().BoolVar(&wait, "wait", false, "exit non-zero unless the run succeeds (always so)")
	_ = cmd.Flags().MarkHidden("wait")
	return cmd
}

func (o *runOptions) logsCommand(e *env) *cobra.Command {
	var req experiments.LogsRequest
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print the logs of a run's task pods (the main container)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			err = runs.Logs(cmd.Context(), args[0], req, cmd.OutOrStdout())
			if err != nil && !errors.Is(err, experiments.ErrNotFound) {
				if node := simulatedNode(cmd.Context(), e, &o.kube, runs, args[0], req.Task); node != "" {
					return fmt.Errorf("run %s has no logs: its pods run on node %s, which is simulated (kwok: no container runs); "+
						"start the dev cluster with real pods to see logs (docs/e2e.md)", args[0], node)
				}
			}
			return explain(err, "run", args[0], o.kube.ns)
		},
	}
	cmd.Flags().StringVar(&req.Task, "task", "", "only this task (IR task name or display name)")
	cmd.Flags().BoolVarP(&req.Follow, "follow", "f", false, "follow the log of a running task")
	return cmd
}

func (o *runOptions) shutdownCommand(e *env, verb, done string, strategy wfv1.ShutdownStrategy, short string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " RUN",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			r, err := runs.Get(cmd.Context(), args[0])
			if err == nil && !r.State.Terminal() {
				// Shutdown refuses (ErrInvalid) a run that ended since the read: the same answer as below.
				r, err = runs.Shutdown(cmd.Context(), args[0], strategy)
				if err == nil {
					return o.printAction(cmd.OutOrStdout(), r, done+": "+string(r.State))
				}
			}
			if err != nil && !(errors.Is(err, experiments.ErrInvalid) && r.State.Terminal()) {
				return explain(err, "run", args[0], o.kube.ns)
			}
			// Nothing to do is not a failure: scripts that stop whatever still runs exit 0.
			fmt.Fprintf(cmd.ErrOrStderr(), "run %q already finished (%s); nothing to %s\n", r.Name, r.State, verb)
			return nil
		},
	}
}

func (o *runOptions) retryCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "retry RUN",
		Short: "Run a FAILED or CANCELED run again, as a new attempt under the same name",
		Long: `Retry deletes the run's Workflow and creates it again from the same spec with the annotation
kfp-argo.io/retry-count increased, which reopens the run record (its history keeps the failed attempt).
Tasks with caching on are memoization hits, so what succeeded before does not run again. This is a
resubmission, not Argo's in-place "argo retry": the previous attempt's node status is not kept in the
Workflow, only in the record's history.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			r, err := runs.Retry(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "run", args[0], o.kube.ns)
			}
			return o.printAction(cmd.OutOrStdout(), r, fmt.Sprintf("retried (attempt %d): %s", r.RetryCount+1, r.State))
		},
	}
}

func (o *runOptions) storageCommand(e *env, verb string, st experiments.StorageState) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " RUN...",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " runs (archived runs are hidden from lists by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			for _, name := range args {
				r, _, err := runs.Store.SetRunStorageState(cmd.Context(), name, st)
				if err != nil {
					return explain(err, "run", name, o.kube.ns)
				}
				if err := o.printAction(cmd.OutOrStdout(), r, verb+"d"); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (o *runOptions) deleteCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete RUN...",
		Short: "Delete runs: their Workflows (and pods), then their records",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := o.connect(e)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := runs.Delete(cmd.Context(), name); err != nil {
					return explain(err, "run", name, o.kube.ns)
				}
				if err := o.printAction(cmd.OutOrStdout(), experiments.Run{Name: name}, "deleted"); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// printAction reports a verb's result: kubectl's "run/NAME did" by default, the record for json/yaml.
func (o *runOptions) printAction(w io.Writer, r experiments.Run, what string) error {
	switch o.output {
	case outJSON, outYAML:
		return printData(w, o.output, r)
	case outName:
		_, err := fmt.Fprintf(w, "run/%s\n", r.Name)
		return err
	}
	_, err := fmt.Fprintf(w, "run/%s %s\n", r.Name, what)
	return err
}

// kwokNodeAnnotation marks a node that kwok simulates: its pods get a status but run nothing, and no kubelet
// answers for their logs.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// simulatedNode returns the node of one of the run's task pods (of task, when given) if kwok simulates it,
// else "".
func simulatedNode(ctx context.Context, e *env, k *kubeFlags, runs *experiments.Runs, name, task string) string {
	c, err := e.clients(k.ClientOptions)
	if err != nil {
		return ""
	}
	r, err := runs.Store.GetRun(ctx, name)
	if err != nil {
		return ""
	}
	for _, t := range r.Tasks {
		if t.Pod == "" || (task != "" && t.Name != task && t.DisplayName != task) {
			continue
		}
		pod, err := c.Kube.CoreV1().Pods(c.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
		if err != nil || pod.Spec.NodeName == "" {
			continue
		}
		node, err := c.Kube.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		if err == nil && node.Annotations[kwokNodeAnnotation] != "" {
			return node.Name
		}
		return ""
	}
	return ""
}

// pipelineText is a run's pipeline, with the version when it ran an uploaded one (NAME@VERSION).
func pipelineText(r experiments.Run) string {
	if r.PipelineVersion != "" {
		return r.PipelineName + "@" + r.PipelineVersion
	}
	return orDash(r.PipelineName)
}

// printParameters writes a "Parameters:" block, sorted by name (nothing when there are none).
func printParameters(w io.Writer, params map[string]string) {
	if len(params) == 0 {
		return
	}
	fmt.Fprintln(w, "\nParameters:")
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(w, "  %s = %s\n", k, params[k])
	}
}
