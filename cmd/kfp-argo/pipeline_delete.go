package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPipelineDeleteCommand(e *env, o *pipelineOptions) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a pipeline (every version) or one version of it; refused while a recurring run uses it",
		Long: `Deletes the WorkflowTemplates of the pipeline's versions (--version: of that one). Runs of them keep their
records and their Workflows. A version that a recurring run runs is not deleted (delete the recurring run
first); recurring runs that follow NAME@latest move to the newest remaining version.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := o.connect(e, outTable, outName)
			if err != nil {
				return err
			}
			deleted, err := store.Delete(cmd.Context(), args[0], version)
			for _, v := range deleted {
				fmt.Fprintf(cmd.OutOrStdout(), "pipeline/%s@%s deleted\n", v.Pipeline, v.Name)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "delete only this version")
	return cmd
}
