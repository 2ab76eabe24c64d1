package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRecurringRunDeleteCommand(e *env, o *recurringRunOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a recurring run; the runs it started, their Workflows and records stay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := o.connect(e, outTable, outName)
			if err != nil {
				return err
			}
			if err := store.DeleteRecurringRun(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "recurring-run/%s deleted\n", args[0])
			return err
		},
	}
}
