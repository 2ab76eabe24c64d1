package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newRecurringRunEnableCommand is `enable` (resume the CronWorkflow) or `disable` (suspend it: no run
// starts; runs already started go on).
func newRecurringRunEnableCommand(e *env, o *recurringRunOptions, enable bool) *cobra.Command {
	use, short, done := "enable NAME", "Enable a recurring run: it starts runs on its schedule again", "enabled"
	if !enable {
		use, short, done = "disable NAME", "Disable a recurring run: no new run starts (runs already started go on)", "disabled"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := o.connect(e, outTable, outName)
			if err != nil {
				return err
			}
			rr, err := store.SetEnabled(cmd.Context(), args[0], enable)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "recurring-run/%s %s\n", rr.Name, done)
			return err
		},
	}
}
