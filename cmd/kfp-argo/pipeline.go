package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/pipelines"
)

// pipelineOptions are the flags every pipeline subcommand shares.
type pipelineOptions struct {
	kube      kubeFlags
	output    string
	noHeaders bool
}

func newPipelineCommand(e *env) *cobra.Command {
	o := &pipelineOptions{}
	cmd := groupCommand(&cobra.Command{
		Use:     "pipeline",
		Aliases: []string{"pipelines"},
		Short:   "Upload, list, show and delete pipelines and their versions (kept as Argo WorkflowTemplates)",
		Long: `A pipeline is a name with versions; each version is one uploaded pipeline file, compiled into an Argo
WorkflowTemplate. Runs of a version (kfp-argo submit --pipeline NAME[@VERSION]) and recurring runs reference the
template instead of embedding it.`,
	})
	o.kube.addFlags(cmd)
	cmd.PersistentFlags().StringVarP(&o.output, "output", "o", outTable, "output: table, wide, json, yaml or name (get -o yaml: the WorkflowTemplate)")
	completeFlag(cmd, "output", completeValues(outTable, outWide, outJSON, outYAML, outName))
	get, versions, del := newPipelineGetCommand(e, o), newPipelineVersionsCommand(e, o), newPipelineDeleteCommand(e, o)
	for _, c := range []*cobra.Command{get, versions, del} {
		c.ValidArgsFunction = completePipelines(e, &o.kube, true)
	}
	cmd.AddCommand(newPipelineUploadCommand(e, o), newPipelineListCommand(e, o), get, versions, del)
	return cmd
}

// connect checks -o against what the command prints and connects.
func (o *pipelineOptions) connect(e *env, allowed ...string) (*pipelines.Store, error) {
	if err := checkOutput(o.output, allowed...); err != nil {
		return nil, err
	}
	return e.pipelines(&o.kube)
}

// printVersions shows versions as a table or as data; asList keeps JSON/YAML a List even for one item.
func (o *pipelineOptions) printVersions(w io.Writer, now time.Time, vs []pipelines.Version, asList bool) error {
	switch o.output {
	case outJSON, outYAML:
		if !asList && len(vs) == 1 {
			return printData(w, o.output, vs[0])
		}
		return printData(w, o.output, listObject(vs))
	case outName:
		for _, v := range vs {
			fmt.Fprintf(w, "pipeline/%s@%s\n", v.Pipeline, v.Name)
		}
		return nil
	}
	header := []string{"PIPELINE", "VERSION", "LATEST", "PARAMETERS", "UPLOADED"}
	if o.output == outWide {
		header = append(header, "DIGEST", "TEMPLATE", "SOURCE", "DESCRIPTION")
	}
	rows := make([][]string, 0, len(vs))
	for _, v := range vs {
		latest := ""
		if v.Latest {
			latest = "*"
		}
		row := []string{v.Pipeline, v.Name, latest, strconv.Itoa(len(v.Parameters)), age(now, v.UploadedAt)}
		if o.output == outWide {
			row = append(row, v.Digest, v.Template, orDash(v.SourceFile), orDash(v.Description))
		}
		rows = append(rows, row)
	}
	if o.noHeaders {
		header = nil
	}
	return table(w, header, rows)
}
