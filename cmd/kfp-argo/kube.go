package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
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

// table writes rows under a header, aligned as kubectl does.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
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
