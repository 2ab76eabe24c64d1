package main

import (
	"github.com/spf13/cobra"
)

func newRecurringRunListCommand(e *env, o *recurringRunOptions) *cobra.Command {
	var pipeline string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recurring runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
			if err != nil {
				return err
			}
			rrs, err := store.ListRecurringRuns(cmd.Context(), pipeline)
			if err != nil {
				return err
			}
			return o.printRecurringRuns(cmd.OutOrStdout(), e.now(), rrs, true)
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only recurring runs of this pipeline")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print no header line")
	return cmd
}
