package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
	"github.com/kfp-argo/kfp-argo/translate"
)

// Shell completion (`kfp-argo completion bash|zsh|fish|powershell`, cobra's): run and experiment names from
// the cluster's records, -o values, --state values and -p parameter names from the pipeline file given.

// completeRuns completes run names from the records of the namespace (records only: no Workflow is read
// or reconciled while the user presses tab). With one set, it completes the first argument only.
func completeRuns(e *env, k *kubeFlags, many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		runs, err := e.runs(k)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		list, err := runs.Store.ListRuns(cmd.Context(), experiments.RunFilter{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, r := range list {
			if strings.HasPrefix(r.Name, toComplete) && !slices.Contains(args, r.Name) {
				out = append(out, cobra.CompletionWithDesc(r.Name, string(r.State)+", "+r.Experiment))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeExperiments completes experiment names (as arguments when arg, else as a flag's value).
func completeExperiments(e *env, k *kubeFlags, arg bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if arg && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		runs, err := e.runs(k)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		list, err := runs.Store.ListExperiments(cmd.Context(), experiments.ExperimentFilter{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, x := range list {
			if strings.HasPrefix(x.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(x.Name, x.Description))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeStates completes --state.
func completeStates(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, s := range experiments.States() {
		if strings.HasPrefix(string(s), strings.ToUpper(toComplete)) {
			out = append(out, string(s))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeParameters completes -p with NAME= for each input of the pipeline file given as the first argument.
func completeParameters(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	p, err := translate.LoadFile(args[0])
	if err != nil || p.Spec.Root == nil || p.Spec.Root.InputDefinitions == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	params := p.Spec.Root.InputDefinitions.Parameters
	var out []cobra.Completion
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if strings.HasPrefix(name+"=", toComplete) {
			desc := ""
			if ps := params[name]; ps != nil {
				desc = ps.ParameterType
			}
			out = append(out, cobra.CompletionWithDesc(name+"=", desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeValues completes a flag with fixed values.
func completeValues(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlag registers fn for a flag of cmd; a flag that does not exist is a programming error.
func completeFlag(cmd *cobra.Command, flag string, fn cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(flag, fn); err != nil {
		panic("completion of --" + flag + ": " + err.Error())
	}
}

// completePipelines completes pipeline names (the first argument, or a flag's value) from the namespace's
// WorkflowTemplates; after NAME@ it completes the pipeline's versions and latest.
func completePipelines(e *env, k *kubeFlags, arg bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if arg && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		store, err := e.pipelines(k)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		if name, _, versioned := strings.Cut(toComplete, "@"); versioned {
			vs, err := store.Versions(cmd.Context(), name)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
			}
			for _, c := range append([]string{pipelines.LatestVersion}, versionNames(vs)...) {
				if strings.HasPrefix(name+"@"+c, toComplete) {
					out = append(out, name+"@"+c)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		ps, err := store.List(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		for _, p := range ps {
			if strings.HasPrefix(p.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(p.Name, "latest "+p.LatestVersion))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func versionNames(vs []pipelines.Version) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// completeRecurringRuns completes recurring run names (the first argument).
func completeRecurringRuns(e *env, k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		store, err := e.pipelines(k)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		rrs, err := store.ListRecurringRuns(cmd.Context(), "")
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, rr := range rrs {
			if strings.HasPrefix(rr.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(rr.Name, rr.RefText+", "+rr.Experiment))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
