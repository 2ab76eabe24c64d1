package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newPipelineListCommand(e *env, o *pipelineOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pipelines: their number of versions and latest version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
			if err != nil {
				return err
			}
			ps, err := store.List(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch o.output {
			case outJSON, outYAML:
				return printData(w, o.output, listObject(ps))
			case outName:
				for _, p := range ps {
					fmt.Fprintf(w, "pipeline/%s\n", p.Name)
				}
				return nil
			}
			header := []string{"NAME", "VERSIONS", "LATEST VERSION", "UPDATED", "CREATED"}
			if o.output == outWide {
				header = append(header, "DESCRIPTION")
			}
			now := e.now()
			var rows [][]string
			for _, p := range ps {
				row := []string{p.Name, strconv.Itoa(p.Versions), p.LatestVersion, age(now, p.UpdatedAt), age(now, p.CreatedAt)}
				if o.output == outWide {
					row = append(row, orDash(p.Description))
				}
				rows = append(rows, row)
			}
			if o.noHeaders {
				header = nil
			}
			return table(w, header, rows)
		},
	}
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print no header line")
	return cmd
}
