package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/ui"
)

func (o *runOptions) reportCommand(e *env) *cobra.Command {
	var experiment string
	cmd := &cobra.Command{
		Use:   "report RUN... -o report.html | --experiment EXP -o report.html",
		Short: "Write runs (and their comparison) as one self-contained HTML file",
		Long: `Writes the run pages of kfp-argo ui, and the compare view when there are 2 to 10 runs, as one HTML file
with inline CSS and SVG charts: it makes no request when opened, so it can be attached to a pull request or a
ticket. -o is the file to write ("-" for stdout).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (experiment == "") {
				return fmt.Errorf("name runs or --experiment, not both")
			}
			if o.output == outTable {
				return fmt.Errorf("-o FILE is required (the report is HTML; \"-\" for stdout)")
			}
			c, err := e.clients(o.kube.ClientOptions)
			if err != nil {
				return err
			}
			srv, err := ui.NewServer(ui.Config{Kube: c.Kube, Argo: c.Argo, Namespace: c.Namespace, Now: e.now})
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := srv.Report(cmd.Context(), &buf, ui.ReportRequest{Runs: args, Experiment: experiment}); err != nil {
				return err
			}
			if o.output == "-" {
				_, err = buf.WriteTo(cmd.OutOrStdout())
				return err
			}
			if err := os.WriteFile(o.output, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "report written to %s\n", o.output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&experiment, "experiment", "e", "", "report the experiment's available runs")
	return cmd
}
