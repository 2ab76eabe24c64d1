package translate

import (
	"fmt"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Output kinds: a compiled Workflow can also be written as a WorkflowTemplate (pipeline inputs stay its
// arguments, given when a run is submitted from it) or a CronWorkflow. Both carry the kfp-argo labels and
// annotations in workflowMetadata as well, so the workflows Argo creates from them have what run records need.

// CronOptions are the schedule of a CronWorkflow.
type CronOptions struct {
	Schedules         []string // cron expressions; written as `schedules` (Argo 3.6+ and 4.x have no singular field)
	Timezone          string
	ConcurrencyPolicy string // Allow, Forbid or Replace
	StartingDeadline  time.Duration
}

// ToWorkflowTemplate wraps a compiled workflow's spec into a WorkflowTemplate. A template needs a name: the
// workflow's name, else its generateName without the trailing dash.
func ToWorkflowTemplate(wf *wfv1.Workflow) (*wfv1.WorkflowTemplate, error) {
	meta := templateMeta(wf)
	spec := wf.Spec.DeepCopy()
	m := runMetadata(wf)
	spec.WorkflowMetadata = &wfv1.WorkflowMetadata{Labels: m.Labels, Annotations: m.Annotations}
	return &wfv1.WorkflowTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "WorkflowTemplate"},
		ObjectMeta: meta,
		Spec:       *spec,
	}, nil
}

// ToCronWorkflow wraps a compiled workflow's spec into a CronWorkflow.
func ToCronWorkflow(wf *wfv1.Workflow, o CronOptions) (*wfv1.CronWorkflow, error) {
	if len(o.Schedules) == 0 {
		return nil, fmt.Errorf("a CronWorkflow needs at least one --schedule")
	}
	for _, s := range o.Schedules {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("--schedule: an empty schedule")
		}
	}
	var missing []string
	for _, a := range wf.Spec.Arguments.Parameters {
		if a.Value == nil && a.ValueFrom == nil {
			missing = append(missing, a.Name)
		}
	}
	if len(missing) > 0 {
		// A scheduled run has nobody to give it values: Argo rejects a CronWorkflow with such arguments.
		return nil, fmt.Errorf("a CronWorkflow needs a value for every pipeline input: give %s with -p NAME=VALUE", strings.Join(missing, ", "))
	}
	cron := &wfv1.CronWorkflow{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "CronWorkflow"},
		ObjectMeta: templateMeta(wf),
		Spec: wfv1.CronWorkflowSpec{
			WorkflowSpec:     *wf.Spec.DeepCopy(),
			Schedules:        append([]string(nil), o.Schedules...),
			Timezone:         o.Timezone,
			WorkflowMetadata: runMetadata(wf),
		},
	}
	switch p := wfv1.ConcurrencyPolicy(o.ConcurrencyPolicy); p {
	case "", wfv1.AllowConcurrent, wfv1.ForbidConcurrent, wfv1.ReplaceConcurrent:
		cron.Spec.ConcurrencyPolicy = p
	default:
		return nil, fmt.Errorf("--concurrency-policy %q: expected Allow, Forbid or Replace", o.ConcurrencyPolicy)
	}
	if o.StartingDeadline < 0 {
		return nil, fmt.Errorf("--starting-deadline must not be negative")
	}
	if o.StartingDeadline > 0 {
		cron.Spec.StartingDeadlineSeconds = ptr(int64(o.StartingDeadline.Seconds()))
	}
	if o.Timezone != "" {
		if _, err := time.LoadLocation(o.Timezone); err != nil {
			return nil, fmt.Errorf("--timezone %q: %v", o.Timezone, err)
		}
	}
	return cron, nil
}

// templateMeta names the object: WorkflowTemplates and CronWorkflows are referred to by name.
func templateMeta(wf *wfv1.Workflow) metav1.ObjectMeta {
	meta := *wf.ObjectMeta.DeepCopy()
	if meta.Name == "" {
		meta.Name = strings.TrimSuffix(meta.GenerateName, "-")
		meta.GenerateName = ""
	}
	// Cron workflow names are prefixes of the workflows' names, which Argo limits to 52 characters for them.
	if len(meta.Name) > 52 {
		meta.Name = strings.TrimRight(meta.Name[:52], "-.")
	}
	if errs := validation.IsDNS1123Subdomain(meta.Name); len(errs) > 0 {
		meta.Name = strings.Trim(fieldName(meta.Name), "-")
	}
	return meta
}

// runMetadata is what every workflow created from the object carries: kfp-argo's labels and annotations.
func runMetadata(wf *wfv1.Workflow) *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{Labels: map[string]string{}, Annotations: map[string]string{}}
	for k, v := range wf.Labels {
		m.Labels[k] = v
	}
	for k, v := range wf.Annotations {
		m.Annotations[k] = v
	}
	return m
}

// ArgumentArtifact is the workflow argument that gives pipeline input artifact name, located at uri, to a
// run of a WorkflowTemplate compiled with ArtifactArguments: named as the template's entrypoint input, and
// located as --input-artifact locates it (an S3 bucket other than the repository's needs
// opts.ArtifactStore).
func ArgumentArtifact(opts Options, name, uri string) (wfv1.Artifact, error) {
	store, err := parseArtifactStore(opts.ArtifactStore)
	if err != nil {
		return wfv1.Artifact{}, err
	}
	loc, err := constantLocation(uri)
	if err == nil && loc.S3 != nil {
		err = store.s3Location(loc.S3, true)
	}
	if err != nil {
		return wfv1.Artifact{}, fmt.Errorf("--input-artifact %s=%s: %w", name, uri, err)
	}
	return wfv1.Artifact{Name: paramName(name), ArtifactLocation: loc}, nil
}
