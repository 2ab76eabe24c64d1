package main

import (
	"github.com/spf13/cobra"
)

// NewRootCommand builds the kfp-argo command tree.
func NewRootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "kfp-argo",
		Short:         "Run Kubeflow Pipelines v2 pipeline specs on plain Argo Workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	e := defaultEnv()
	cmd.AddCommand(newCompileCommand(), newLintCommand(e), newVersionCommand(), newSubmitCommand(e), newExperimentCommand(e), newRunCommand(e))
	cmd.AddCommand(newSyncCommand(), newUICommand(e), newPipelineCommand(e), newRecurringRunCommand(e))
	return cmd
}
