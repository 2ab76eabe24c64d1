package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// artifactStoreUsage documents --artifact-store (translate.Options.ArtifactStore).
const artifactStoreUsage = "the Argo artifact repository's bucket as SCHEME://BUCKET (s3, minio, gs), for real artifact URIs; with ?endpoint=HOST:PORT&insecure=BOOL&region=R&secret=NAME, importers can read other S3 buckets"

type compileOptions struct {
	pipeline     pipelineFlags
	output       string
	name         string
	generateName string
	namespace    string
	experiment   string
	kind         string
	cron         cronFlags
	argoVersion  string
}

// cronFlags are the schedule of --kind cronworkflow.
type cronFlags struct {
	schedules         []string
	timezone          string
	concurrencyPolicy string
	startingDeadline  time.Duration
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
	o.pipeline.addFlags(f)
	f.StringVarP(&o.output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&o.name, "name", "", "workflow name (default: generated from the pipeline name)")
	f.StringVar(&o.generateName, "generate-name", "", "workflow generateName prefix")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace to set on the workflow")
	f.StringVarP(&o.experiment, "experiment", "e", "", "experiment its runs are recorded in, however they are started (default: Default)")
	f.StringVar(&o.kind, "kind", "workflow", "object to write: workflow, workflowtemplate or cronworkflow")
	f.StringArrayVar(&o.cron.schedules, "schedule", nil, "cron schedule of a cronworkflow (repeatable), e.g. '0 3 * * *'")
	f.StringVar(&o.cron.timezone, "timezone", "", "timezone of the schedules, e.g. Europe/Paris (default: the controller's)")
	f.StringVar(&o.cron.concurrencyPolicy, "concurrency-policy", "", "cronworkflow runs that overlap: Allow, Forbid or Replace")
	f.DurationVar(&o.cron.startingDeadline, "starting-deadline", 0, "skip a scheduled run that could not start within this time (e.g. 5m)")
	f.StringVar(&o.argoVersion, "argo-version", string(argo.V3), "Argo major version the manifest is for: v3 (3.6, 3.7) or v4 (4.x)")
	completeFlag(cmd, "output", completeValues("yaml", "json"))
	completeFlag(cmd, "kind", completeValues("workflow", "workflowtemplate", "cronworkflow"))
	completeFlag(cmd, "argo-version", completeValues(string(argo.V3), string(argo.V4)))
	completeFlag(cmd, "concurrency-policy", completeValues("Allow", "Forbid", "Replace"))
	o.pipeline.addCompletion(cmd)
	return cmd
}

// parsePairs reads KEY=VALUE flags; keys must be valid Kubernetes label/annotation keys, label values valid
// label values.
func parsePairs(flag string, pairs []string, labels bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: expected KEY=VALUE", flag, kv)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("--%s %q: key: %s", flag, kv, strings.Join(errs, "; "))
		}
		if labels {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return nil, fmt.Errorf("--%s %q: value: %s", flag, kv, strings.Join(errs, "; "))
			}
		}
		out[k] = v
	}
	return out, nil
}

// compileKind returns the validated Argo object of the kind asked for. The validator checks a copy with
// stand-ins for the runtime scripts (translate.WithScriptStandIns: the same outcome, faster).
func compileKind(wf *wfv1.Workflow, kind string, cron cronFlags) (any, error) {
	switch kind {
	case "workflow", "":
		if len(cron.schedules) > 0 || cron.timezone != "" || cron.concurrencyPolicy != "" || cron.startingDeadline != 0 {
			return nil, fmt.Errorf("--schedule, --timezone, --concurrency-policy and --starting-deadline need --kind cronworkflow")
		}
		check := *wf
		check.Spec = translate.WithScriptStandIns(wf.Spec)
		return wf, argo.ValidateWorkflow(&check)
	case "workflowtemplate":
		if len(cron.schedules) > 0 || cron.timezone != "" || cron.concurrencyPolicy != "" || cron.startingDeadline != 0 {
			return nil, fmt.Errorf("--schedule, --timezone, --concurrency-policy and --starting-deadline need --kind cronworkflow")
		}
		wt, err := translate.ToWorkflowTemplate(wf)
		if err != nil {
			return nil, err
		}
		check := *wt
		check.Spec = translate.WithScriptStandIns(wt.Spec)
		return wt, argo.ValidateWorkflowTemplate(&check)
	case "cronworkflow":
		cw, err := translate.ToCronWorkflow(wf, translate.CronOptions{Schedules: cron.schedules, Timezone: cron.timezone, ConcurrencyPolicy: cron.concurrencyPolicy, StartingDeadline: cron.startingDeadline})
		if err != nil {
			return nil, err
		}
		check := *cw
		check.Spec.WorkflowSpec = translate.WithScriptStandIns(cw.Spec.WorkflowSpec)
		return cw, argo.ValidateCronWorkflow(&check)
	}
	return nil, fmt.Errorf("--kind %q: expected workflow, workflowtemplate or cronworkflow", kind)
}

func (o *compileOptions) run(cmd *cobra.Command, file string) error {
	if o.output != "yaml" && o.output != "json" {
		return fmt.Errorf("--output %q: expected yaml or json", o.output)
	}
	target, err := argo.ParseVersion(o.argoVersion)
	if err != nil {
		return err
	}
	opts, err := o.pipeline.options()
	if err != nil {
		return err
	}
	if o.kind != "workflow" && o.kind != "workflowtemplate" && o.kind != "cronworkflow" {
		return fmt.Errorf("--kind %q: expected workflow, workflowtemplate or cronworkflow", o.kind)
	}
	limitMemory()
	p, err := translate.LoadFile(file)
	if err != nil {
		return err
	}
	opts.Name, opts.GenerateName, opts.Namespace = o.name, o.generateName, o.namespace
	if o.experiment != "" {
		if err := experiments.ValidateExperimentName(o.experiment); err != nil {
			return fmt.Errorf("--experiment: %w", err)
		}
		// The same keys kfp-argo submit writes: the record of every run of this manifest names the experiment.
		opts.Labels[experiments.LabelExperiment] = experiments.LabelValue(o.experiment)
		opts.Annotations[experiments.AnnotationExperiment] = o.experiment
	}
	var warnings []string
	out, err := interruptible(cmd.Context(), func() (out []byte, err error) {
		out, warnings, err = render(file, p, opts, o.kind, o.cron, o.output, target)
		return out, err
	})
	if err != nil {
		return err
	}
	printWarnings(cmd.ErrOrStderr(), file, warnings)
	_, err = cmd.OutOrStdout().Write(out)
	return err
}

func printWarnings(w io.Writer, file string, warnings []string) {
	for _, warn := range warnings {
		fmt.Fprintf(w, "Warning: %s: %s\n", file, warn)
	}
}

// interruptible runs work (compiling a large pipeline can take seconds) until it ends or ctx is done, so that
// Ctrl-C or SIGTERM stops the command at once and nothing is printed after it; the abandoned work ends with
// the process.
func interruptible(ctx context.Context, work func() ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := work()
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
}

// render compiles a loaded pipeline into the manifest compile prints: the object of the kind asked for,
// validated by Argo's own validator and checked against the target Argo version's limits, in yaml or json,
// with what the user should know about running it (translate.RunSizeWarning). Lint sends these same bytes to
// the API server.
func render(file string, p *translate.Pipeline, opts translate.Options, kind string, cron cronFlags, format string, target argo.Version) ([]byte, []string, error) {
	// A WorkflowTemplate's runs supply what it lacks: input artifacts not given with --input-artifact are
	// its argument artifacts.
	opts.ArtifactArguments = kind == "workflowtemplate"
	wf, err := translate.Compile(p, opts)
	if err != nil {
		return nil, nil, err
	}
	obj, err := compileKind(wf, kind, cron)
	if err != nil {
		if errors.Is(err, argo.ErrInvalid) {
			return nil, nil, fmt.Errorf("%s: the compiled %s is invalid, which is a kfp-argo bug; please report it: %w", file, kind, err)
		}
		return nil, nil, err
	}
	if err := argo.CheckLimits(obj, target); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	var warnings []string
	if warn, err := translate.RunSizeWarning(wf); err != nil {
		return nil, nil, err
	} else if warn != "" {
		warnings = append(warnings, warn)
	}
	// Render fully before writing, so that a failure never leaves half a manifest on stdout.
	out, err := argo.MarshalFor(obj, format, target)
	return out, warnings, err
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
