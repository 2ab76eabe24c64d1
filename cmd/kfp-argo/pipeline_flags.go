package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kfp-argo/kfp-argo/translate"
)

// pipelineFlags are every setting of the compiled Workflow that compile and submit both take: one flag set,
// registered by both, so the two commands cannot drift apart.
type pipelineFlags struct {
	params       []string
	artifacts    []string
	paramsFile   string
	noCache      bool
	artifactRepo string
	store        string
	labels       []string
	annotations  []string
	workflow     workflowFlags
}

// workflowFlags are the pipeline-level settings of the Workflow.
type workflowFlags struct {
	serviceAccount string
	ttl            time.Duration
	activeDeadline time.Duration
	parallelism    int
	podGC          string
	instanceID     string
}

func (p *pipelineFlags) addFlags(f *pflag.FlagSet) {
	f.StringArrayVarP(&p.params, "parameter", "p", nil, "pipeline input NAME=VALUE (repeatable); VALUE is read per the input's type")
	f.StringArrayVar(&p.artifacts, "input-artifact", nil, "pipeline input artifact NAME=URI (repeatable): gs://, s3://, minio://, http(s)://")
	f.StringVar(&p.paramsFile, "params-file", "", "JSON or YAML file with pipeline input values")
	f.BoolVar(&p.noCache, "no-cache", false, "turn caching (Argo memoization) off for every task")
	f.StringVar(&p.artifactRepo, "artifact-repository-ref", "", "Argo artifact repository: KEY or CONFIGMAP/KEY (default: the namespace's default)")
	f.StringVar(&p.store, "artifact-store", "", artifactStoreUsage)
	f.StringSliceVar(&p.labels, "labels", nil, "labels to add, KEY=VALUE[,KEY=VALUE...] (repeatable)")
	f.StringSliceVar(&p.annotations, "annotations", nil, "annotations to add, KEY=VALUE[,KEY=VALUE...] (repeatable)")
	w := &p.workflow
	f.StringVar(&w.serviceAccount, "service-account", "", "service account the pods run as")
	f.DurationVar(&w.ttl, "ttl", 0, "delete the workflow this long after it finished (e.g. 24h)")
	f.DurationVar(&w.activeDeadline, "active-deadline", 0, "fail the workflow when it runs longer than this (e.g. 2h)")
	f.IntVar(&w.parallelism, "parallelism", 0, "run at most this many pods at once")
	f.StringVar(&w.podGC, "pod-gc", "", "delete pods: OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess")
	f.StringVar(&w.instanceID, "instance-id", "", "Argo controller instance ID, for clusters with several controllers")
}

// addCompletion completes the set's flags of cmd (after addFlags).
func (p *pipelineFlags) addCompletion(cmd *cobra.Command) {
	completeFlag(cmd, "parameter", completeParameters)
	completeFlag(cmd, "pod-gc", completeValues("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"))
}

// options parses the flags into the compiler's options.
func (p *pipelineFlags) options() (translate.Options, error) {
	params, err := readParameters(p.params, p.paramsFile)
	if err != nil {
		return translate.Options{}, err
	}
	artifacts := map[string]string{}
	for _, kv := range p.artifacts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return translate.Options{}, fmt.Errorf("--input-artifact %q: expected NAME=URI", kv)
		}
		artifacts[k] = v
	}
	labels, err := parsePairs("labels", p.labels, true)
	if err != nil {
		return translate.Options{}, err
	}
	annotations, err := parsePairs("annotations", p.annotations, false)
	if err != nil {
		return translate.Options{}, err
	}
	w := p.workflow
	return translate.Options{
		Labels:                labels,
		Annotations:           annotations,
		Parameters:            params,
		InputArtifacts:        artifacts,
		NoCache:               p.noCache,
		ArtifactRepositoryRef: p.artifactRepo,
		ArtifactStore:         p.store,
		ServiceAccount:        w.serviceAccount,
		TTL:                   w.ttl,
		ActiveDeadline:        w.activeDeadline,
		Parallelism:           w.parallelism,
		PodGC:                 w.podGC,
		InstanceID:            w.instanceID,
	}, nil
}

// pipelineOnly names the flags of this set given on the command line that only a pipeline (not a plain Argo
// Workflow, whose arguments -p and --params-file set) takes.
func pipelineOnly(f *pflag.FlagSet) []string {
	names := pflag.NewFlagSet("", pflag.ContinueOnError)
	(&pipelineFlags{}).addFlags(names)
	var set []string
	f.Visit(func(fl *pflag.Flag) {
		if fl.Name != "parameter" && fl.Name != "params-file" && names.Lookup(fl.Name) != nil {
			set = append(set, "--"+fl.Name)
		}
	})
	return set
}
