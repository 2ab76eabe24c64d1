package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate"
)

// errLintFailed is returned when a file fails: each file's result is already printed, one line each.
var errLintFailed = errors.New("lint: some pipelines do not compile to valid Argo objects")

type lintOptions struct {
	kind   string
	cron   cronFlags
	output string
	server bool
	kube   kubeFlags
	target string
}

func newLintCommand(e *env) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint PIPELINE|DIR...",
		Short: "Check that pipeline specs compile to valid Argo objects, one line per file; exit 1 if any fails",
		Long: `Check that pipeline specs compile to valid Argo objects, one line per file; exit 1 if any fails.

With --server each printed manifest (the bytes compile prints, in the -o format) is also sent to the cluster
as 'kubectl create --dry-run=server -f' does: the CRD schemas installed there (minimal or full, any Argo
version) and admission judge it; nothing is stored.`,
		Example: `  kfp-argo lint pipelines/            # every pipeline file under it, as argo lint DIR
  kfp-argo lint pipelines/*.yaml
  kfp-argo lint --kind cronworkflow --schedule '0 3 * * *' nightly.yaml
  kfp-argo lint --server -n team-a pipelines/*.yaml`,
		Args:          cobra.MinimumNArgs(1),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "yaml" && o.output != "json" {
				return fmt.Errorf("--output %q: expected yaml or json", o.output)
			}
			target, err := argo.ParseVersion(o.target)
			if err != nil {
				return err
			}
			var send func(context.Context, []byte) error
			if o.server {
				c, err := e.clients(o.kube.ClientOptions)
				if err != nil {
					return err
				}
				send = func(ctx context.Context, manifest []byte) error {
					return argo.ServerDryRun(ctx, c.Dynamic, c.Namespace, manifest)
				}
			}
			files, err := lintFiles(args)
			if err != nil {
				return err
			}
			failed := false
			for _, file := range files {
				if err := cmd.Context().Err(); err != nil {
					return fmt.Errorf("interrupted: %w", err)
				}
				warnings, err := o.lint(cmd.Context(), file, target, send)
				if err != nil {
					failed = true
					fmt.Fprintf(cmd.OutOrStdout(), "%s: error: %s\n", file, lintLine(strings.TrimPrefix(err.Error(), file+": ")))
					continue
				}
				for _, warn := range warnings {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: warning: %s\n", file, lintLine(warn))
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
	f.StringVarP(&o.output, "output", "o", "yaml", "format of the manifest --server sends: yaml or json")
	f.StringVar(&o.target, "argo-version", string(argo.V3), "Argo major version the manifest is for: v3 (3.6, 3.7) or v4 (4.x)")
	f.BoolVar(&o.server, "server", false, "also send each printed manifest to the cluster with a server-side dry run")
	o.kube.addFlags(cmd)
	return cmd
}

// lint loads, compiles, validates and renders one file, and hands the printed bytes to send when set. A
// pipeline is checked, not a run: what a run must be given gets a stand-in (required input artifacts a
// location, and for a CronWorkflow, whose runs start unattended, required parameters a value of their type).
func (o *lintOptions) lint(ctx context.Context, file string, target argo.Version, send func(context.Context, []byte) error) (warnings []string, err error) {
	limitMemory()
	p, err := translate.LoadFile(file)
	if err != nil {
		return nil, err
	}
	opts := translate.Options{InputArtifacts: map[string]string{}, Parameters: map[string]any{}}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			// A WorkflowTemplate takes them from its runs (its entrypoint's inputs): no stand-in there.
			if !def.IsOptional && !def.IsArtifactList && o.kind != "workflowtemplate" {
				opts.InputArtifacts[name] = "gs://kfp-argo-lint/" + name
			}
		}
		for name, def := range in.Parameters {
			if o.kind == "cronworkflow" && def.DefaultValue == nil && !def.IsOptional {
				opts.Parameters[name] = standInValue(def.ParameterType)
			}
		}
	}
	cron := o.cron
	if o.kind == "cronworkflow" && len(cron.schedules) == 0 {
		cron.schedules = []string{"0 0 * * *"}
	}
	out, err := interruptible(ctx, func() (out []byte, err error) {
		out, warnings, err = render(file, p, opts, o.kind, cron, o.output, target)
		return out, err
	})
	if err != nil {
		return nil, err // an interrupted render may still be writing warnings
	}
	if send == nil {
		return warnings, nil
	}
	return warnings, send(ctx, out)
}

// standInValue is a value of an IR parameter type, for checking a pipeline whose runs will be given one.
func standInValue(irType string) any { return translate.StandInValue(irType, "lint") }

func lintLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// pipelineExts are the files a directory argument contributes: what translate.LoadFile reads.
var pipelineExts = []string{".yaml", ".yml", ".json", ".zip", ".tar.gz", ".tgz"}

// lintFiles expands directory arguments, as `argo lint DIR` does, into the pipeline files under them in name
// order; a file argument is taken as it is, whatever its name.
func lintFiles(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil || !info.IsDir() {
			files = append(files, arg) // a missing file is reported on its own line
			continue
		}
		var found []string
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && slices.ContainsFunc(pipelineExts, func(ext string) bool { return strings.HasSuffix(strings.ToLower(path), ext) }) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("lint %s: %w", arg, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("lint %s: no pipeline files (%s) in it", arg, strings.Join(pipelineExts, ", "))
		}
		files = append(files, found...)
	}
	return files, nil
}
