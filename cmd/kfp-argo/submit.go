package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/pipelines"
	"github.com/kfp-argo/kfp-argo/translate"
)

type submitOptions struct {
	kube       kubeFlags
	experiment string
	pipeline   pipelineFlags
	// uploaded is --pipeline NAME[@VERSION]: a run of an uploaded version instead of a file.
	uploaded    string
	runName     string
	displayName string
	watch       bool
	wait        bool
	dryRun      string
	output      string
}

func newSubmitCommand(e *env) *cobra.Command {
	o := &submitOptions{}
	cmd := &cobra.Command{
		Use:   "submit [PIPELINE]",
		Short: "Compile a KFP pipeline spec (or take an Argo Workflow) and start it as a run of an experiment",
		Long: `Starts a run: the Workflow is created first, labelled and annotated so that its run record can be
rebuilt from it, then the run record. PIPELINE is a KFP pipeline spec (YAML, JSON, .zip, .tar.gz) or a plain
Argo Workflow manifest, which is tracked as a run without translation (-p then sets its arguments as they are).
With --pipeline NAME[@VERSION] instead of a file, the run is a Workflow that references the uploaded version's
WorkflowTemplate (kfp-argo pipeline upload; the latest version by default); -p values are checked against the
pipeline's inputs before anything is created.`,
		Example: `  kfp-argo submit pipeline.yaml -e lr-sweep -p lr=0.01 --wait
  kfp-argo submit pipeline.yaml -r train-1 --watch
  kfp-argo submit workflow.yaml --dry-run=server
  kfp-argo submit --pipeline training@v2 -e lr-sweep -p lr=0.01`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0 && o.uploaded == "":
				return fmt.Errorf("submit needs a pipeline file or --pipeline NAME[@VERSION]")
			case len(args) == 1 && o.uploaded != "":
				return fmt.Errorf("give a pipeline file or --pipeline, not both")
			}
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return o.run(cmd, e, file)
		},
	}
	o.kube.addFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.experiment, "experiment", "e", experiments.DefaultExperiment, "experiment of the run (created if missing)")
	o.pipeline.addFlags(f)
	f.StringVar(&o.uploaded, "pipeline", "", "run an uploaded pipeline version: NAME, NAME@VERSION or NAME@latest (instead of a file)")
	f.StringVarP(&o.runName, "run-name", "r", "", "run name, also the Workflow's (default: generated from the pipeline name)")
	f.StringVar(&o.displayName, "display-name", "", "run display name (default: the run name)")
	f.BoolVarP(&o.watch, "watch", "w", false, "show the run's progress until it ends; exit non-zero unless it succeeded")
	f.BoolVar(&o.wait, "wait", false, "wait until the run ends, silently; exit non-zero unless it succeeded")
	f.StringVar(&o.dryRun, "dry-run", "none", "none, client (print what would be created) or server (the API server validates it; nothing is stored)")
	f.StringVarP(&o.output, "output", "o", "", "output: name, json or yaml (the run record; the Workflow for dry runs); default a short message")
	completeFlag(cmd, "output", completeValues(outName, outJSON, outYAML))
	completeFlag(cmd, "dry-run", completeValues("none", "client", "server"))
	completeFlag(cmd, "experiment", completeExperiments(e, &o.kube, false))
	completeFlag(cmd, "pipeline", completePipelines(e, &o.kube, false))
	o.pipeline.addCompletion(cmd)
	return cmd
}

func (o *submitOptions) run(cmd *cobra.Command, e *env, file string) error {
	if o.output != "" {
		if err := checkOutput(o.output, outName, outJSON, outYAML); err != nil {
			return err
		}
	}
	dry, err := experiments.ParseDryRun(o.dryRun)
	if err != nil {
		return err
	}
	if dry != experiments.DryRunNone && (o.watch || o.wait) {
		return fmt.Errorf("--dry-run cannot be combined with --watch or --wait")
	}
	var wf *wfv1.Workflow
	if o.uploaded != "" {
		wf, err = o.uploadedWorkflow(cmd, e)
	} else {
		wf, err = o.workflow(cmd, file, cmd.Flags())
	}
	if err != nil {
		return err
	}
	req := experiments.SubmitRequest{Workflow: wf, RunName: o.runName, DisplayName: o.displayName, Experiment: o.experiment, DryRun: dry}
	out := cmd.OutOrStdout()
	if dry == experiments.DryRunClient {
		// Nothing leaves this process, so no cluster is needed.
		prepared, err := experiments.PrepareWorkflow(req)
		if err != nil {
			return err
		}
		return printWorkflow(out, prepared, o.output)
	}
	runs, err := e.runs(&o.kube)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	// -e takes what `experiment list -o name` prints, too.
	if req.Experiment, err = runs.Store.ResolveExperiment(ctx, req.Experiment); err != nil {
		return err
	}
	run, created, err := runs.Submit(ctx, req)
	if err != nil {
		return err
	}
	if dry == experiments.DryRunServer {
		return printWorkflow(out, created, o.output)
	}
	if !o.watch && !o.wait {
		return printSubmitted(out, run, o.output)
	}
	if o.output == "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "run/%s submitted to experiment %q\n", run.Name, run.Experiment)
	}
	var progressOut io.Writer
	if o.watch {
		// With -o the record goes to stdout at the end; progress must not be mixed into it.
		progressOut = out
		if o.output != "" {
			progressOut = cmd.ErrOrStderr()
		}
	}
	final, err := watchRun(cmd, e, runs, run.Name, progressOut)
	if err != nil {
		return err
	}
	if o.output != "" {
		if err := printSubmitted(out, final, o.output); err != nil {
			return err
		}
	}
	if final.State != experiments.StateSucceeded {
		return runNotSucceeded(final)
	}
	return nil
}

// workflow compiles file, or reads it as is when it is an Argo Workflow manifest.
func (o *submitOptions) workflow(cmd *cobra.Command, file string, flags *pflag.FlagSet) (*wfv1.Workflow, error) {
	if plain, err := readPlainWorkflow(file); err != nil || plain != nil {
		if err != nil {
			return nil, err
		}
		if set := pipelineOnly(flags); len(set) > 0 {
			return nil, fmt.Errorf("%s is an Argo Workflow: %s apply to pipelines only", file, strings.Join(set, ", "))
		}
		return plain, setWorkflowArguments(plain, o.pipeline.params, o.pipeline.paramsFile)
	}
	opts, err := o.pipeline.options()
	if err != nil {
		return nil, err
	}
	p, err := translate.LoadFile(file)
	if err != nil {
		return nil, err
	}
	// Values from -p go through the compiler: typed per the IR, "{{" made inert (translate.Options).
	wf, err := translate.Compile(p, opts)
	if err != nil {
		return nil, err
	}
	check := *wf
	check.Spec = translate.WithScriptStandIns(wf.Spec)
	if err := argo.ValidateWorkflow(&check); err != nil {
		return nil, fmt.Errorf("%s: the compiled workflow is invalid, which is a kfp-argo bug; please report it: %w", file, err)
	}
	warn, err := translate.RunSizeWarning(wf)
	if err != nil {
		return nil, err
	}
	if warn != "" {
		printWarnings(cmd.ErrOrStderr(), file, []string{warn})
	}
	return wf, nil
}

// uploadedWorkflow is a run of an uploaded pipeline version: its -p values checked against the version's
// pipeline by the compiler, before anything is created.
func (o *submitOptions) uploadedWorkflow(cmd *cobra.Command, e *env) (*wfv1.Workflow, error) {
	set := slices.DeleteFunc(pipelineOnly(cmd.Flags()), func(f string) bool {
		// What a version leaves to each run: its input artifacts' locations.
		return f == "--input-artifact" || f == "--artifact-store"
	})
	if len(set) > 0 {
		return nil, fmt.Errorf("--pipeline runs an uploaded version as it was compiled: %s apply to pipeline files only", strings.Join(set, ", "))
	}
	ref, err := pipelines.ParseRef(o.uploaded)
	if err != nil {
		return nil, err
	}
	opts, err := o.pipeline.options()
	if err != nil {
		return nil, err
	}
	store, err := e.pipelines(&o.kube)
	if err != nil {
		return nil, err
	}
	v, tmpl, err := store.Get(cmd.Context(), ref)
	if err != nil {
		return nil, err
	}
	return pipelines.RunWorkflow(v, tmpl, pipelines.RunInputs{Parameters: opts.Parameters, Artifacts: opts.InputArtifacts, ArtifactStore: opts.ArtifactStore})
}

// readPlainWorkflow returns the Workflow in file if it is an Argo Workflow manifest, nil if it is anything
// else (a pipeline spec, a package), and an error for a Workflow manifest that does not decode.
func readPlainWorkflow(file string) (*wfv1.Workflow, error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".zip", ".gz", ".tgz":
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	// A pipeline spec may hold two documents; a Workflow manifest is one, so the first decides.
	first, _, _ := bytes.Cut(data, []byte("\n---"))
	if err := yaml.Unmarshal(first, &head); err != nil || head.Kind != "Workflow" || !strings.HasPrefix(head.APIVersion, "argoproj.io/") {
		return nil, nil
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(first, &wf); err != nil {
		return nil, fmt.Errorf("%s: Argo Workflow: %w", file, err)
	}
	if err := argo.ValidateWorkflow(&wf); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	wf.Status = wfv1.WorkflowStatus{}
	return &wf, nil
}

// setWorkflowArguments applies -p and --params-file to a plain Workflow's arguments as `argo submit -p` does:
// the value as given (Argo evaluates it), an unknown name appended.
func setWorkflowArguments(wf *wfv1.Workflow, flags []string, file string) error {
	params, err := readParameters(flags, file)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if translate.IsRuntimeParameter(name) {
			return fmt.Errorf("parameter %s: a kfp-argo runtime script, not a pipeline input", name)
		}
		var text string
		switch v := params[name].(type) {
		case string:
			text = v
		default:
			js, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("parameter %s: %w", name, err)
			}
			text = string(js)
		}
		found := false
		for i := range wf.Spec.Arguments.Parameters {
			if wf.Spec.Arguments.Parameters[i].Name == name {
				wf.Spec.Arguments.Parameters[i].Value = wfv1.AnyStringPtr(text)
				found = true
			}
		}
		if !found {
			wf.Spec.Arguments.Parameters = append(wf.Spec.Arguments.Parameters, wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr(text)})
		}
	}
	return nil
}

// printWorkflow prints a Workflow as a manifest that can be piped into `kubectl apply -f -`: with apiVersion
// and kind (the typed client drops them), without what the API server fills in (managedFields, uid,
// resourceVersion, creation time, status).
func printWorkflow(w io.Writer, wf *wfv1.Workflow, output string) error {
	wf = wf.DeepCopy()
	wf.APIVersion, wf.Kind = wfv1.WorkflowSchemaGroupVersionKind.GroupVersion().String(), wfv1.WorkflowSchemaGroupVersionKind.Kind
	wf.ManagedFields, wf.UID, wf.ResourceVersion, wf.Generation = nil, "", "", 0
	wf.CreationTimestamp = metav1.Time{}
	wf.Status = wfv1.WorkflowStatus{}
	switch output {
	case outName:
		_, err := fmt.Fprintf(w, "workflow/%s\n", wf.Name)
		return err
	case outJSON:
		out, err := argo.Marshal(wf, "json")
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	out, err := argo.Marshal(wf, "yaml")
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

func printSubmitted(w io.Writer, run experiments.Run, output string) error {
	switch output {
	case outName:
		_, err := fmt.Fprintf(w, "run/%s\n", run.Name)
		return err
	case outJSON, outYAML:
		return printData(w, output, run)
	}
	_, err := fmt.Fprintf(w, "run/%s submitted to experiment %q (%s)\n", run.Name, run.Experiment, run.State)
	return err
}

func runNotSucceeded(r experiments.Run) error {
	if r.Error != "" {
		return fmt.Errorf("run %s ended %s: %s", r.Name, r.State, r.Error)
	}
	return fmt.Errorf("run %s ended %s", r.Name, r.State)
}

// watchRun follows a run until it ends, drawing its progress on w (nothing when w is nil). Interrupted
// (Ctrl-C), it says that the run goes on and returns an exit code 130 error.
func watchRun(cmd *cobra.Command, e *env, runs *experiments.Runs, name string, w io.Writer) (experiments.Run, error) {
	ctx := cmd.Context()
	var p *progress
	if w != nil {
		p = &progress{w: w, terminal: e.isTerminal(w), now: e.now}
	}
	var mu sync.Mutex
	var last *experiments.Run
	if p != nil && p.terminal && e.tick != nil {
		// On a terminal the elapsed clock moves every second, also while the Workflow does not change.
		ticks, stop := e.tick(time.Second)
		defer stop()
		done := make(chan struct{})
		var wg sync.WaitGroup
		// Deferred after stop, so it runs first: the redraws end before watchRun returns and its caller
		// prints more.
		defer wg.Wait()
		defer close(done)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-ticks:
					mu.Lock()
					if last != nil && !last.State.Terminal() {
						p.show(*last)
					}
					mu.Unlock()
				}
			}
		}()
	}
	final, err := runs.Watch(ctx, name, func(r experiments.Run) {
		if p != nil {
			mu.Lock()
			last = &r
			p.show(r)
			mu.Unlock()
		}
	})
	if err != nil && ctx.Err() != nil {
		return final, &exitError{code: exitInterrupted,
			err: fmt.Errorf("stopped watching; run %s continues (kfp-argo run get %s)", name, name)}
	}
	return final, err
}
