package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/translate"
)

// errLintFailed is returned when a file fails: each file's result is already printed, one line each.
var errLintFailed = errors.New("lint: some pipelines do not compile to valid Argo objects")

type lintOptions struct {
	kind string
	cron cronFlags
}

func newLintCommand() *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint PIPELINE...",
		Short: "Check that pipeline specs compile to valid Argo objects, one line per file; exit 1 if any fails",
		Example: `  kfp-argo lint pipelines/*.yaml
  kfp-argo lint --kind cronworkflow --schedule '0 3 * * *' nightly.yaml`,
		Args:          cobra.MinimumNArgs(1),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, file := range args {
				if err := o.lint(file); err != nil {
					failed = true
					fmt.Fprintf(cmd.OutOrStdout(), "%s: error: %s\n", file, lintLine(strings.TrimPrefix(err.Error(), file+": ")))
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", file)
			}
			if failed {
				return errLintFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kind, "kind", "workflow", "object to check: workflow, workflowtemplate or cronworkflow")
	f.StringArrayVar(&o.cron.schedules, "schedule", nil, "cron schedule for --kind cronworkflow (default: a daily stand-in)")
	return cmd
}

// lint loads, compiles and validates one file. A pipeline is checked, not a run: required input artifacts get
// a stand-in location, as a run would give them with --input-artifact.
func (o *lintOptions) lint(file string) error {
	p, err := translate.LoadFile(file)
	if err != nil {
		return err
	}
	opts := translate.Options{InputArtifacts: map[string]string{}}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			if !def.IsOptional && !def.IsArtifactList {
				opts.InputArtifacts[name] = "s3://kfp-argo-lint/" + name
			}
		}
	}
	wf, err := translate.Compile(p, opts)
	if err != nil {
		return err
	}
	cron := o.cron
	if o.kind == "cronworkflow" && len(cron.schedules) == 0 {
		cron.schedules = []string{"0 0 * * *"}
	}
	_, err = compileKind(wf, o.kind, cron)
	return err
}

func lintLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
