package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/pipelines"
)

type pipelineUploadOptions struct {
	*pipelineOptions
	name, version, description string
}

func newPipelineUploadCommand(e *env, parent *pipelineOptions) *cobra.Command {
	o := &pipelineUploadOptions{pipelineOptions: parent}
	cmd := &cobra.Command{
		Use:   "upload FILE",
		Short: "Upload a pipeline file as a new version of a pipeline (a WorkflowTemplate)",
		Long: `Compiles FILE (a KFP pipeline spec: YAML, JSON, .zip, .tar.gz) into a WorkflowTemplate, the pipeline's new
latest version. Without --version the version is named after the file's SHA-256, so uploading the same file
again changes nothing. Recurring runs created with NAME@latest move to the new version.`,
		Example: `  kfp-argo pipeline upload pipeline.yaml
  kfp-argo pipeline upload pipeline.yaml --name training --version v2 --description "new features"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.runE(cmd, e, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "pipeline name (default: the pipeline spec's pipelineInfo.name)")
	f.StringVar(&o.version, "version", "", "version name (default: sha256- and the first 12 hex digits of the file's SHA-256)")
	f.StringVar(&o.description, "description", "", "what this version changes")
	return cmd
}

func (o *pipelineUploadOptions) runE(cmd *cobra.Command, e *env, file string) error {
	if err := checkOutput(o.output, outTable, outWide, outJSON, outYAML, outName); err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
	if err != nil {
		return err
	}
	v, created, err := store.Upload(cmd.Context(), pipelines.UploadRequest{File: file, Data: data, Name: o.name, Version: o.version, Description: o.description})
	if v.Name == "" {
		return err
	}
	out := cmd.OutOrStdout()
	if o.output == outTable {
		verb := "uploaded"
		if !created {
			verb = "unchanged (this file is already that version)"
		}
		fmt.Fprintf(out, "pipeline/%s@%s %s\n", v.Pipeline, v.Name, verb)
	} else if perr := o.printVersions(out, e.now(), []pipelines.Version{v}, false); perr != nil {
		return perr
	}
	// The version exists; a recurring run that could not follow it is reported (exit code 1).
	return err
}
