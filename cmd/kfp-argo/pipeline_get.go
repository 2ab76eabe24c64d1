package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/pipelines"
)

func newPipelineGetCommand(e *env, o *pipelineOptions) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "get NAME[@VERSION]",
		Short: "Show a pipeline version (the latest by default); -o yaml prints its WorkflowTemplate",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
			if err != nil {
				return err
			}
			ref, err := pipelines.ParseRef(args[0])
			if err != nil {
				return err
			}
			if version != "" {
				ref.Version = version
			}
			v, tmpl, err := store.Get(cmd.Context(), ref)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch o.output {
			case outYAML, outJSON:
				// The template as kubectl would print it, ready for `kubectl apply -f -`.
				t := tmpl.DeepCopy()
				t.APIVersion, t.Kind = "argoproj.io/v1alpha1", "WorkflowTemplate"
				t.ManagedFields, t.UID, t.ResourceVersion, t.Generation = nil, "", "", 0
				out, err := argo.Marshal(t, o.output)
				if err != nil {
					return err
				}
				_, err = w.Write(out)
				return err
			case outName:
				_, err := fmt.Fprintf(w, "pipeline/%s@%s\n", v.Pipeline, v.Name)
				return err
			}
			latest := "no"
			if v.Latest {
				latest = "yes"
			}
			kv := [][2]string{{"Pipeline:", v.Pipeline}, {"Version:", v.Name}, {"Latest:", latest}, {"Digest:", v.Digest},
				{"Template:", v.Template}, {"Uploaded:", timeOrDash(v.UploadedAt)}, {"Source:", orDash(v.SourceFile)},
				{"Description:", orDash(v.Description)}}
			for _, row := range kv {
				fmt.Fprintf(w, "%-13s %s\n", row[0], row[1])
			}
			if len(v.Parameters) > 0 {
				fmt.Fprintln(w, "\nParameters:")
				byName := map[string]*string{}
				for _, p := range v.Parameters {
					byName[p.Name] = p.Default
				}
				for _, name := range slices.Sorted(maps.Keys(byName)) {
					if d := byName[name]; d != nil {
						fmt.Fprintf(w, "  %s = %s\n", name, *d)
					} else {
						fmt.Fprintf(w, "  %s (required)\n", name)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "version to show (default: the latest)")
	return cmd
}

func newPipelineVersionsCommand(e *env, o *pipelineOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "versions NAME",
		Short: "List a pipeline's versions, newest (latest) first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := o.connect(e, outTable, outWide, outJSON, outYAML, outName)
			if err != nil {
				return err
			}
			vs, err := store.Versions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return o.printVersions(cmd.OutOrStdout(), e.now(), vs, true)
		},
	}
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print no header line")
	return cmd
}
