package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
	"github.com/kfp-argo/kfp-argo/translate"
)

// env is what the cluster commands take from the outside world, so tests can give them fake clientsets and
// a fixed clock.
type env struct {
	clients func(argo.ClientOptions) (*argo.Clients, error)
	now     func() time.Time
	// isTerminal tells whether w is a terminal (live redraw) or a pipe or file (plain lines).
	isTerminal func(w io.Writer) bool
	// tick delivers a time every d until stop is called (time.Ticker; tests deliver ticks by hand).
	tick func(d time.Duration) (ticks <-chan time.Time, stop func())
}

func defaultEnv() *env {
	return &env{clients: argo.NewClients, now: time.Now, isTerminal: isCharDevice, tick: func(d time.Duration) (<-chan time.Time, func()) {
		t := time.NewTicker(d)
		return t.C, t.Stop
	}}
}

// isCharDevice reports a terminal without a terminal library: a character device is one (or /dev/null,
// which does not care how it is drawn to).
func isCharDevice(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// kubeFlags are kubectl's connection flags.
type kubeFlags struct {
	argo.ClientOptions
	// ns is the namespace the commands work in, known once connected (the flag, else the context's).
	ns string
}

func (k *kubeFlags) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&k.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	f.StringVar(&k.Context, "context", "", "kubeconfig context to use")
	f.StringVarP(&k.Namespace, "namespace", "n", "", "namespace of the workflows and records (default: the context's)")
}

// runs connects and returns the run operations of the namespace.
func (e *env) runs(k *kubeFlags) (*experiments.Runs, error) {
	c, err := e.clients(k.ClientOptions)
	if err != nil {
		return nil, noCluster(err)
	}
	k.ns = c.Namespace
	store := experiments.NewStore(c.Kube.CoreV1().ConfigMaps(c.Namespace), experiments.WithClock(e.now))
	return experiments.NewRuns(store, c.Workflows()), nil
}

// nsRuns are the run operations of one namespace.
type nsRuns struct {
	ns   string
	runs *experiments.Runs
}

// allNamespaces connects and returns the run operations of every namespace that holds kfp-argo records or
// runs (-A), sorted by namespace.
func (e *env) allNamespaces(ctx context.Context, k *kubeFlags) ([]nsRuns, error) {
	c, err := e.clients(k.ClientOptions)
	if err != nil {
		return nil, noCluster(err)
	}
	seen := map[string]bool{}
	records := labels.SelectorFromSet(labels.Set{translate.LabelManagedBy: translate.ManagedByValue})
	cms, err := c.Kube.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: records.String()})
	if err != nil {
		return nil, fmt.Errorf("list namespaces with records: %w", err)
	}
	for _, cm := range cms.Items {
		seen[cm.Namespace] = true
	}
	for _, sel := range experiments.RunSelectors() {
		wfs, err := c.Argo.ArgoprojV1alpha1().Workflows("").List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("list namespaces with runs: %w", err)
		}
		for _, wf := range wfs.Items {
			seen[wf.Namespace] = true
		}
	}
	var out []nsRuns
	for _, ns := range slices.Sorted(maps.Keys(seen)) {
		store := experiments.NewStore(c.Kube.CoreV1().ConfigMaps(ns), experiments.WithClock(e.now))
		out = append(out, nsRuns{ns: ns, runs: experiments.NewRuns(store, argo.NewWorkflows(c.Argo, c.Kube, ns))})
	}
	return out, nil
}

// listObject is what -o json/yaml prints for a list, as kubectl does: a List with the items.
func listObject[T any](items []T) map[string]any {
	if items == nil {
		items = []T{}
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
}

// Output formats, as kubectl's -o.
const (
	outTable = "table"
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
	outName  = "name"
	outCSV   = "csv"
)

func checkOutput(o string, allowed ...string) error {
	for _, a := range allowed {
		if o == a {
			return nil
		}
	}
	return fmt.Errorf("--output %q: expected one of %s", o, strings.Join(allowed, ", "))
}

// printData writes v as JSON (indented) or YAML.
func printData(w io.Writer, format string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	if format == outJSON {
		_, err = fmt.Fprintf(w, "%s\n", js)
		return err
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return fmt.Errorf("render yaml: %w", err)
	}
	_, err = w.Write(y)
	return err
}

// table writes rows under a header (none when header is nil: --no-headers), aligned as kubectl does.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if header != nil {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// age renders how long ago t was, as kubectl's AGE column ("<unknown>" for no time).
func age(now, t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// runDuration is how long a run has been running, or ran.
func runDuration(now time.Time, r experiments.Run) string {
	if r.StartedAt.IsZero() {
		return "-"
	}
	end := r.FinishedAt
	if end.IsZero() {
		end = now
	}
	return duration.HumanDuration(end.Sub(r.StartedAt))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// pipelines connects and returns the pipeline and recurring-run store of the namespace.
func (e *env) pipelines(k *kubeFlags) (*pipelines.Store, error) {
	c, err := e.clients(k.ClientOptions)
	if err != nil {
		return nil, noCluster(err)
	}
	k.ns = c.Namespace
	return pipelines.NewStore(c.Argo, c.Kube, c.Namespace, e.now), nil
}
