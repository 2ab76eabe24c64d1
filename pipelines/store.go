package pipelines

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	wftyped "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/typed/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// maxStoredSpec bounds the stored pipeline file (gzip + base64) so that the template's annotations stay well
// under the API server's 256 KiB.
const maxStoredSpec = 128 << 10

// Store keeps pipelines, their versions (WorkflowTemplates) and recurring runs (CronWorkflows) of one
// namespace.
type Store struct {
	templates wftyped.WorkflowTemplateInterface
	crons     wftyped.CronWorkflowInterface
	// cms holds the semaphore ConfigMaps of recurring runs with --max-concurrency above 1.
	cms typedcorev1.ConfigMapInterface
	now func() time.Time
}

// NewStore works in namespace with the given clientsets (real or fake); now is the clock (time.Now).
func NewStore(c wfclientset.Interface, kube kubernetes.Interface, namespace string, now func() time.Time) *Store {
	return &Store{templates: c.ArgoprojV1alpha1().WorkflowTemplates(namespace), crons: c.ArgoprojV1alpha1().CronWorkflows(namespace),
		cms: kube.CoreV1().ConfigMaps(namespace), now: now}
}

// Version is one uploaded version of a pipeline.
type Version struct {
	Pipeline    string    `json:"pipeline"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Digest      string    `json:"digest"`
	Template    string    `json:"workflowTemplate"`
	SourceFile  string    `json:"sourceFile,omitempty"`
	SourceBytes int64     `json:"sourceBytes,omitempty"`
	UploadedAt  time.Time `json:"uploadedAt"`
	// Parameters are the pipeline inputs (Argo argument names) with their default values ("" for none).
	Parameters []Parameter `json:"parameters,omitempty"`
	Latest     bool        `json:"latest"`
}

// Parameter is one pipeline input of a version.
type Parameter struct {
	Name    string  `json:"name"`
	Default *string `json:"default,omitempty"`
}

// Pipeline summarizes a pipeline's versions.
type Pipeline struct {
	Name          string    `json:"name"`
	Versions      int       `json:"versions"`
	LatestVersion string    `json:"latestVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Description   string    `json:"description,omitempty"`
}

// Ref names a pipeline version: "NAME", "NAME@VERSION" or "NAME@latest" (Version empty means latest).
type Ref struct {
	Pipeline string
	Version  string
}

// Latest reports whether the reference follows the newest version.
func (r Ref) Latest() bool { return r.Version == "" || r.Version == LatestVersion }

func (r Ref) String() string {
	if r.Latest() {
		return r.Pipeline + "@" + LatestVersion
	}
	return r.Pipeline + "@" + r.Version
}

// ParseRef reads NAME[@VERSION].
func ParseRef(s string) (Ref, error) {
	name, version, _ := strings.Cut(s, "@")
	if name == "" {
		return Ref{}, fmt.Errorf("--pipeline %q: %w: expected NAME, NAME@VERSION or NAME@latest", s, ErrInvalid)
	}
	return Ref{Pipeline: name, Version: version}, nil
}

// UploadRequest is a pipeline file to keep as a version.
type UploadRequest struct {
	// File names the source in messages and annotations; Data is its content (YAML, JSON, .zip, .tar.gz).
	File string
	Data []byte
	// Name defaults to the IR's pipelineInfo.name; Version to one derived from the IR digest, so that
	// uploading the same file again is a no-op.
	Name, Version, Description string
}

// DefaultVersionName is the version name of an upload without --version: the first 12 hex digits of the
// pipeline file's SHA-256.
func DefaultVersionName(digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return "sha256-" + hex
}

// TemplateName is the WorkflowTemplate of a pipeline version: both names as DNS labels joined by a dot, or
// when that is longer than the 63 characters Argo allows, both sanitized into one with a hash of the two.
func TemplateName(pipeline, version string) string {
	name := experiments.ObjectNamePart(pipeline) + "." + experiments.ObjectNamePart(version)
	if len(name) <= validation.DNS1123LabelMaxLength {
		return name
	}
	return experiments.ObjectNamePart(pipeline + "@" + version)
}

// Upload compiles the file into a WorkflowTemplate and creates it. Uploading a file that is already the
// named (or digest-named) version returns that version with created false; the same version name with
// another file is ErrAlreadyExists. Recurring runs that follow the pipeline's latest version are moved to
// the new one (FollowLatest); their errors are returned with the created version.
func (s *Store) Upload(ctx context.Context, req UploadRequest) (Version, bool, error) {
	p, err := translate.Load(req.File, req.Data)
	if err != nil {
		return Version{}, false, err
	}
	// Input artifacts without a location are the template's inputs: each run gives them (RunInputs).
	wf, err := translate.Compile(p, translate.Options{ArtifactArguments: true})
	if err != nil {
		return Version{}, false, err
	}
	name := req.Name
	if name == "" {
		name = p.Spec.PipelineInfo.Name
	}
	if err := checkName("pipeline name", name); err != nil {
		return Version{}, false, err
	}
	version := req.Version
	if version == "" {
		version = DefaultVersionName(p.Digest)
	}
	if err := checkName("--version", version); err != nil {
		return Version{}, false, err
	}
	if version == LatestVersion {
		return Version{}, false, fmt.Errorf("--version %q: %w: it means the newest version in references", version, ErrInvalid)
	}
	existing, err := s.Versions(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Version{}, false, err
	}
	for _, v := range existing {
		if v.Name != version {
			continue
		}
		if v.Digest == p.Digest {
			return v, false, nil
		}
		return Version{}, false, fmt.Errorf("pipeline %q version %q: %w with another pipeline file (%s, uploaded from %s); choose another --version",
			name, version, ErrAlreadyExists, v.Digest, orUnknown(v.SourceFile))
	}
	spec, err := packSpec(req.Data)
	if err != nil {
		return Version{}, false, fmt.Errorf("%s: %w", req.File, err)
	}
	wf.Labels[translate.LabelPipeline] = experiments.LabelValue(name)
	wf.Annotations[translate.AnnotationPipelineName] = name
	wf.Labels[experiments.LabelPipelineVersion] = experiments.LabelValue(version)
	wf.Annotations[experiments.AnnotationPipelineVersion] = version
	tmpl, err := translate.ToWorkflowTemplate(wf)
	if err != nil {
		return Version{}, false, err
	}
	tmpl.Name = TemplateName(name, version)
	tmpl.Annotations[AnnotationSourceFile] = filepath.Base(req.File)
	tmpl.Annotations[AnnotationSourceBytes] = strconv.Itoa(len(req.Data))
	tmpl.Annotations[AnnotationUploadedAt] = s.now().UTC().Format(time.RFC3339Nano)
	tmpl.Annotations[AnnotationPipelineSpec] = spec
	if req.Description != "" {
		tmpl.Annotations[AnnotationVersionDescription] = req.Description
	}
	if err := argo.ValidateWorkflowTemplate(tmpl); err != nil {
		return Version{}, false, fmt.Errorf("%s: the compiled template is invalid, which is a kfp-argo bug; please report it: %w", req.File, err)
	}
	created, err := s.templates.Create(ctx, tmpl, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return Version{}, false, fmt.Errorf("pipeline %q version %q: %w: WorkflowTemplate %s exists and is not that version (a name that sanitizes alike?): %w",
			name, version, ErrAlreadyExists, tmpl.Name, err)
	}
	if err != nil {
		return Version{}, false, fmt.Errorf("upload pipeline %q version %q: %w", name, version, err)
	}
	v := versionOf(created)
	v.Latest = true
	return v, true, s.FollowLatest(ctx, name)
}

func checkName(what, s string) error {
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "@\n\r\t") || len(s) > 253 {
		return fmt.Errorf("%s %q: %w: non-empty text of at most 253 bytes without '@' or line breaks", what, s, ErrInvalid)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown file"
	}
	return s
}

func packSpec(data []byte) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(data); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	out := base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(out) > maxStoredSpec {
		return "", fmt.Errorf("%w: the pipeline file is %d bytes compressed, more than the %d kept with a version", ErrInvalid, len(out), maxStoredSpec)
	}
	return out, nil
}

// Spec loads the pipeline file kept with a version's template.
func Spec(tmpl *wfv1.WorkflowTemplate) (*translate.Pipeline, error) {
	raw, err := base64.StdEncoding.DecodeString(tmpl.Annotations[AnnotationPipelineSpec])
	if err != nil {
		return nil, fmt.Errorf("WorkflowTemplate %s: annotation %s: %w", tmpl.Name, AnnotationPipelineSpec, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("WorkflowTemplate %s: annotation %s: %w", tmpl.Name, AnnotationPipelineSpec, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("WorkflowTemplate %s: annotation %s: %w", tmpl.Name, AnnotationPipelineSpec, err)
	}
	name := tmpl.Annotations[AnnotationSourceFile]
	if name == "" {
		name = tmpl.Name + ".yaml"
	}
	p, err := translate.Load(name, data)
	if err != nil {
		return nil, err
	}
	if want := tmpl.Annotations[translate.AnnotationIRDigest]; want != "" && p.Digest != want {
		return nil, fmt.Errorf("WorkflowTemplate %s: the kept pipeline file has digest %s, the template says %s", tmpl.Name, p.Digest, want)
	}
	return p, nil
}

// versionOf reads a version from its template's metadata.
func versionOf(t *wfv1.WorkflowTemplate) Version {
	a := t.Annotations
	v := Version{
		Pipeline: a[translate.AnnotationPipelineName], Name: a[experiments.AnnotationPipelineVersion],
		Description: a[AnnotationVersionDescription], Digest: a[translate.AnnotationIRDigest], Template: t.Name,
		SourceFile: a[AnnotationSourceFile], UploadedAt: t.CreationTimestamp.UTC(),
	}
	if n, err := strconv.ParseInt(a[AnnotationSourceBytes], 10, 64); err == nil {
		v.SourceBytes = n
	}
	if ts, err := time.Parse(time.RFC3339Nano, a[AnnotationUploadedAt]); err == nil {
		v.UploadedAt = ts.UTC()
	}
	for _, p := range t.Spec.Arguments.Parameters {
		par := Parameter{Name: p.Name}
		if p.Value != nil {
			d, _ := translate.DecodeValue(p.Value.String())
			par.Default = &d
		}
		v.Parameters = append(v.Parameters, par)
	}
	return v
}

// templates lists the version templates (of one pipeline when name is not empty), checking real names.
func (s *Store) list(ctx context.Context, name string) ([]wfv1.WorkflowTemplate, error) {
	set := labels.Set{translate.LabelManagedBy: translate.ManagedByValue}
	req, err := labels.NewRequirement(experiments.LabelPipelineVersion, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	if name != "" {
		set[translate.LabelPipeline] = experiments.LabelValue(name)
	}
	sel := labels.SelectorFromSet(set).Add(*req)
	var out []wfv1.WorkflowTemplate
	opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: 250}
	for {
		l, err := s.templates.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list pipeline versions: %w", err)
		}
		for _, t := range l.Items {
			if name == "" || t.Annotations[translate.AnnotationPipelineName] == name {
				out = append(out, t)
			}
		}
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

// Versions returns the versions of a pipeline, newest first (the first is its latest); ErrNotFound when it
// has none.
func (s *Store) Versions(ctx context.Context, name string) ([]Version, error) {
	ts, err := s.list(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("pipeline %q: %w", name, ErrNotFound)
	}
	vs := make([]Version, 0, len(ts))
	for i := range ts {
		vs = append(vs, versionOf(&ts[i]))
	}
	newestFirst(vs)
	vs[0].Latest = true
	return vs, nil
}

func newestFirst(vs []Version) {
	sort.Slice(vs, func(i, j int) bool {
		if !vs[i].UploadedAt.Equal(vs[j].UploadedAt) {
			return vs[i].UploadedAt.After(vs[j].UploadedAt)
		}
		return vs[i].Name > vs[j].Name
	})
}

// List returns every pipeline of the namespace, by name.
func (s *Store) List(ctx context.Context) ([]Pipeline, error) {
	ts, err := s.list(ctx, "")
	if err != nil {
		return nil, err
	}
	byName := map[string][]Version{}
	for i := range ts {
		v := versionOf(&ts[i])
		byName[v.Pipeline] = append(byName[v.Pipeline], v)
	}
	var out []Pipeline
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		vs := byName[name]
		newestFirst(vs)
		out = append(out, Pipeline{Name: name, Versions: len(vs), LatestVersion: vs[0].Name, UpdatedAt: vs[0].UploadedAt,
			CreatedAt: vs[len(vs)-1].UploadedAt, Description: vs[0].Description})
	}
	return out, nil
}

// Get returns a version and its template; an empty version or "latest" is the newest.
func (s *Store) Get(ctx context.Context, ref Ref) (Version, *wfv1.WorkflowTemplate, error) {
	vs, err := s.Versions(ctx, ref.Pipeline)
	if err != nil {
		return Version{}, nil, err
	}
	want := vs[0]
	if !ref.Latest() {
		found := false
		var names []string
		for _, v := range vs {
			names = append(names, v.Name)
			if v.Name == ref.Version {
				want, found = v, true
			}
		}
		if !found {
			return Version{}, nil, fmt.Errorf("pipeline %q has no version %q (versions: %s): %w", ref.Pipeline, ref.Version, strings.Join(names, ", "), ErrNotFound)
		}
	}
	t, err := s.templates.Get(ctx, want.Template, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Version{}, nil, fmt.Errorf("pipeline %q version %q: %w: %w", ref.Pipeline, want.Name, ErrNotFound, err)
	}
	if err != nil {
		return Version{}, nil, fmt.Errorf("pipeline %q version %q: %w", ref.Pipeline, want.Name, err)
	}
	return want, t, nil
}

// Delete deletes one version (or, with an empty version, every version) of a pipeline. A version that a
// recurring run references is refused (ErrInUse) and nothing is deleted; recurring runs that follow the
// latest version move to the newest remaining one.
func (s *Store) Delete(ctx context.Context, name, version string) ([]Version, error) {
	vs, err := s.Versions(ctx, name)
	if err != nil {
		return nil, err
	}
	var doomed []Version
	for _, v := range vs {
		if version == "" || v.Name == version {
			doomed = append(doomed, v)
		}
	}
	if len(doomed) == 0 {
		return nil, fmt.Errorf("pipeline %q has no version %q: %w", name, version, ErrNotFound)
	}
	rrs, err := s.ListRecurringRuns(ctx, name)
	if err != nil {
		return nil, err
	}
	remaining := len(vs) - len(doomed)
	for _, rr := range rrs {
		for _, v := range doomed {
			if rr.Version != v.Name || (rr.Ref.Latest() && remaining > 0) {
				continue
			}
			return nil, fmt.Errorf("pipeline %q version %q: %w: recurring run %q runs it; delete the recurring run first (kfp-argo recurring-run delete %s)",
				name, v.Name, ErrInUse, rr.Name, rr.Name)
		}
	}
	var deleted []Version
	for _, v := range doomed {
		err := s.templates.Delete(ctx, v.Template, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return deleted, fmt.Errorf("delete pipeline %q version %q: %w", name, v.Name, err)
		}
		deleted = append(deleted, v)
	}
	if remaining > 0 {
		return deleted, s.FollowLatest(ctx, name)
	}
	return deleted, nil
}

// RunInputs are what one run of a version is given: -p values, and the locations of the pipeline's input
// artifacts that the version leaves to its runs (--input-artifact NAME=URI; an S3 bucket other than the
// repository's needs ArtifactStore, as for compile).
type RunInputs struct {
	Parameters    map[string]any
	Artifacts     map[string]string
	ArtifactStore string
}

// RunWorkflow builds a run of a version: a Workflow that references the version's template, with the
// arguments that the compiler makes of in (checked against the pipeline's inputs: names, types, allowed
// values, every required input and input artifact given) and the metadata that its run record is built from.
func RunWorkflow(v Version, tmpl *wfv1.WorkflowTemplate, in RunInputs) (*wfv1.Workflow, error) {
	args, err := Arguments(v, tmpl, in)
	if err != nil {
		return nil, err
	}
	wf := &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: generateName(v.Pipeline),
			Labels:       map[string]string{},
			Annotations:  map[string]string{},
		},
		Spec: wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: tmpl.Name}, Arguments: args},
	}
	if md := tmpl.Spec.WorkflowMetadata; md != nil {
		maps.Copy(wf.Labels, md.Labels)
		maps.Copy(wf.Annotations, md.Annotations)
	}
	if err := argo.ValidateWorkflowWith(wf, tmpl); err != nil {
		return nil, fmt.Errorf("pipeline %q version %q: the run's workflow is invalid, which is a kfp-argo bug; please report it: %w", v.Pipeline, v.Name, err)
	}
	return wf, nil
}

// Arguments checks in against the version's pipeline with the compiler (so a value is read and checked
// exactly as `kfp-argo submit FILE -p` does) and returns the Workflow arguments.
func Arguments(v Version, tmpl *wfv1.WorkflowTemplate, in RunInputs) (wfv1.Arguments, error) {
	p, err := Spec(tmpl)
	if err != nil {
		return wfv1.Arguments{}, err
	}
	opts := translate.Options{Parameters: in.Parameters, InputArtifacts: in.Artifacts, ArtifactStore: in.ArtifactStore, ArtifactArguments: true}
	wf, err := translate.Compile(p, opts)
	if err != nil {
		return wfv1.Arguments{}, fmt.Errorf("pipeline %q version %q: %w", v.Pipeline, v.Name, err)
	}
	var missing []string
	for _, a := range wf.Spec.Arguments.Parameters {
		if a.Value == nil && a.ValueFrom == nil {
			missing = append(missing, a.Name)
		}
	}
	if len(missing) > 0 {
		return wfv1.Arguments{}, fmt.Errorf("pipeline %q version %q: %w: give a value for %s with -p NAME=VALUE", v.Pipeline, v.Name, ErrInvalid, strings.Join(missing, ", "))
	}
	var flags []string
	for _, name := range NeededArtifacts(p) {
		if _, ok := in.Artifacts[name]; !ok {
			flags = append(flags, "--input-artifact "+name+"=URI")
		}
	}
	if len(flags) > 0 {
		return wfv1.Arguments{}, fmt.Errorf("pipeline %q version %q: %w: its runs give its input artifacts: %s", v.Pipeline, v.Name, ErrInvalid, strings.Join(flags, " "))
	}
	// The runtime scripts are the template's own arguments: a run takes them from there.
	args := wfv1.Arguments{Parameters: slices.DeleteFunc(wf.Spec.Arguments.Parameters, func(a wfv1.Parameter) bool {
		return translate.IsRuntimeParameter(a.Name)
	})}
	for _, name := range slices.Sorted(maps.Keys(in.Artifacts)) {
		a, err := translate.ArgumentArtifact(opts, name, in.Artifacts[name])
		if err != nil {
			return wfv1.Arguments{}, fmt.Errorf("pipeline %q version %q: %w", v.Pipeline, v.Name, err)
		}
		args.Artifacts = append(args.Artifacts, a)
	}
	return args, nil
}

// NeededArtifacts are the pipeline's required input artifacts, which the version's runs give.
func NeededArtifacts(p *translate.Pipeline) []string {
	var out []string
	if defs := p.Spec.Root.InputDefinitions; defs != nil {
		for name, a := range defs.Artifacts {
			if !a.IsOptional {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// generateName is a Workflow name prefix from a pipeline name: a DNS label with room for five characters.
func generateName(pipeline string) string {
	n := experiments.ObjectNamePart(pipeline)
	if max := validation.DNS1123LabelMaxLength - 6; len(n) > max {
		n = strings.TrimRight(n[:max], "-")
	}
	return n + "-"
}
