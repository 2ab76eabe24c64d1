package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate"
)

type compileOptions struct {
	params       []string
	artifacts    []string
	paramsFile   string
	output       string
	noCache      bool
	artifactRepo string
	name         string
	generateName string
	namespace    string
	workflow     workflowFlags
}

// workflowFlags are the pipeline-level settings of the Workflow, shared by compile and submit.
type workflowFlags struct {
	serviceAccount string
	ttl            time.Duration
	activeDeadline time.Duration
	parallelism    int
	podGC          string
	instanceID     string
}

func (w *workflowFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&w.serviceAccount, "service-account", "", "service account the pods run as")
	f.DurationVar(&w.ttl, "ttl", 0, "delete the workflow this long after it finished (e.g. 24h)")
	f.DurationVar(&w.activeDeadline, "active-deadline", 0, "fail the workflow when it runs longer than this (e.g. 2h)")
	f.IntVar(&w.parallelism, "parallelism", 0, "run at most this many pods at once")
	f.StringVar(&w.podGC, "pod-gc", "", "delete pods: OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess")
	f.StringVar(&w.instanceID, "instance-id", "", "Argo controller instance ID, for clusters with several controllers")
}

func (w *workflowFlags) apply(o *translate.Options) {
	o.ServiceAccount, o.TTL, o.ActiveDeadline = w.serviceAccount, w.ttl, w.activeDeadline
	o.Parallelism, o.PodGC, o.InstanceID = w.parallelism, w.podGC, w.instanceID
}

func newCompileCommand() *cobra.Command {
	o := &compileOptions{}
	cmd := &cobra.Command{
		Use:   "compile PIPELINE",
		Short: "Translate a KFP pipeline spec (YAML, JSON, .zip, .tar.gz) into an Argo Workflow on stdout",
		Example: `  kfp-argo compile pipeline.yaml | argo submit -
  kfp-argo compile pipeline.yaml -p lr=0.01 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.params, "parameter", "p", nil, "pipeline input NAME=VALUE (repeatable); VALUE is read per the input's type")
	f.StringArrayVar(&o.artifacts, "input-artifact", nil, "pipeline input artifact NAME=URI (repeatable): gs://, s3://, minio://, http(s)://")
	f.StringVar(&o.paramsFile, "params-file", "", "JSON or YAML file with pipeline input values")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format: yaml or json")
	f.BoolVar(&o.noCache, "no-cache", false, "turn caching (Argo memoization) off for every task")
	f.StringVar(&o.artifactRepo, "artifact-repository-ref", "", "Argo artifact repository: KEY or CONFIGMAP/KEY (default: the namespace's default)")
	f.StringVar(&o.name, "name", "", "workflow name (default: generated from the pipeline name)")
	f.StringVar(&o.generateName, "generate-name", "", "workflow generateName prefix")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace to set on the workflow")
	o.workflow.addFlags(f)
	return cmd
}

func (o *compileOptions) run(cmd *cobra.Command, file string) error {
	if o.output != "yaml" && o.output != "json" {
		return fmt.Errorf("--output %q: expected yaml or json", o.output)
	}
	params, err := readParameters(o.params, o.paramsFile)
	if err != nil {
		return err
	}
	artifacts := map[string]string{}
	for _, kv := range o.artifacts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("--input-artifact %q: expected NAME=URI", kv)
		}
		artifacts[k] = v
	}
	p, err := translate.LoadFile(file)
	if err != nil {
		return err
	}
	opts := translate.Options{
		Parameters:            params,
		InputArtifacts:        artifacts,
		NoCache:               o.noCache,
		ArtifactRepositoryRef: o.artifactRepo,
		Name:                  o.name,
		GenerateName:          o.generateName,
		Namespace:             o.namespace,
	}
	o.workflow.apply(&opts)
	wf, err := translate.Compile(p, opts)
	if err != nil {
		return err
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		return fmt.Errorf("%s: the compiled workflow is invalid, which is a kfp-argo bug; please report it: %w", file, err)
	}
	// Render fully before writing, so that a failure never leaves half a manifest on stdout.
	out, err := argo.Marshal(wf, o.output)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// readParameters merges --params-file values with -p NAME=VALUE (which win). Values from -p stay text: the
// compiler reads them per the input's type.
func readParameters(flags []string, file string) (map[string]any, error) {
	params := map[string]any{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--params-file: %w", err)
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, fmt.Errorf("--params-file %s: %w", file, err)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("--params-file %s: expected an object of NAME: VALUE: %w", file, err)
		}
		for k, v := range m {
			params[k] = v
		}
	}
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-p %q: expected NAME=VALUE", kv)
		}
		params[k] = v
	}
	return params, nil
}
