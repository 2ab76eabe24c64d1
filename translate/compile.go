package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels and annotations kfp-argo puts on every object it compiles. The run records and the sync controller
// read them back (experiments package), so a workflow alone is enough to rebuild its record.
const (
	LabelManagedBy         = "app.kubernetes.io/managed-by"
	ManagedByValue         = "kfp-argo"
	LabelPipeline          = "kfp-argo.io/pipeline"
	AnnotationPipelineName = "kfp-argo.io/pipeline-name"
	AnnotationDisplayName  = "kfp-argo.io/pipeline-display-name"
	AnnotationDescription  = "kfp-argo.io/pipeline-description"
	AnnotationIRDigest     = "kfp-argo.io/ir-digest"
	AnnotationTaskNames    = "kfp-argo.io/task-names"
	AnnotationParameters   = "kfp-argo.io/parameters"
	// AnnotationDAGParts lists the templates that only nest part of a large DAG (partition.go): their nodes are
	// structure, not tasks.
	AnnotationDAGParts      = "kfp-argo.io/dag-parts"
	MetadataParameterPrefix = "kfp-argo-meta-"
	// modelCarParameterPrefix names the template input that carries a model car's image reference.
	modelCarParameterPrefix = "kfp-argo-oci-"
	// taskNameParameter is the template input that carries the IR task name ({{$.pipeline_task_name}}) to a
	// command line: a template serves every task of its component, so each task gives its own name.
	taskNameParameter = "kfp-argo-task-name"
)

// Options are the compile-time choices of the user.
type Options struct {
	// Parameters overrides pipeline input values. A string value for a non-STRING input is parsed as
	// command-line text (-p name=value); other values (from a params file) must already have the input's type.
	Parameters map[string]any
	// InputArtifacts locates pipeline input artifacts: NAME -> URI (gs://, s3://, minio://, http(s)://).
	InputArtifacts map[string]string
	// ArtifactArguments makes each required pipeline input artifact that InputArtifacts does not locate an
	// input artifact of the entrypoint, without a location: a run supplies it as a workflow argument
	// (spec.arguments.artifacts of the Workflow that references the WorkflowTemplate), which Argo gives to the
	// entrypoint's inputs. Argo's validator refuses an argument artifact without a location in the template
	// itself, so the template declares none. Without ArtifactArguments such an artifact is an error.
	ArtifactArguments bool
	// NoCache turns KFP caching (Argo memoization) off for every task.
	NoCache bool
	// ArtifactRepositoryRef names the Argo artifact repository: "KEY" (in the artifact-repositories ConfigMap)
	// or "CONFIGMAP/KEY". Empty means the namespace's default repository.
	ArtifactRepositoryRef string
	// ArtifactStore describes the Argo artifact repository the workflow's artifacts go to, as
	// SCHEME://BUCKET[?endpoint=HOST:PORT&insecure=BOOL&region=R&secret=NAME&accessKeyKey=K&secretKeyKey=K]
	// (s3, minio or gs; the S3 settings are Argo's S3 artifact fields). With it, artifact URIs are real; with
	// the S3 settings, importers read other S3 buckets. See docs/compile.md, "Runtime contract".
	ArtifactStore string
	// ServiceAccount runs the pods as this service account (spec.serviceAccountName).
	ServiceAccount string
	// TTL deletes the workflow this long after it finished (ttlStrategy.secondsAfterCompletion); 0 keeps it.
	TTL time.Duration
	// ActiveDeadline fails the workflow when it runs longer (spec.activeDeadlineSeconds); 0 means no limit.
	ActiveDeadline time.Duration
	// Parallelism caps the pods running at once for the whole workflow (spec.parallelism); 0 means no cap.
	Parallelism int
	// PodGC deletes pods: OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess.
	PodGC string
	// InstanceID targets one of several Argo controllers (label workflows.argoproj.io/controller-instanceid).
	InstanceID string
	// Name sets metadata.name; otherwise GenerateName (default: the pipeline name and a dash) is used.
	Name, GenerateName, Namespace string
	Labels, Annotations           map[string]string
}

// TaskRef maps an Argo DAG task back to the IR (the kfp-argo.io/task-names annotation).
type TaskRef struct {
	Task        string `json:"task"`
	DisplayName string `json:"displayName"`
}

// Compile translates a loaded pipeline into one Argo Workflow. It is pure: no I/O, same input same output.
func Compile(p *Pipeline, opts Options) (*wfv1.Workflow, error) {
	c := newCompiler(p, opts)
	store, err := parseArtifactStore(opts.ArtifactStore)
	if err != nil {
		return nil, err
	}
	c.store = store
	wf, err := c.compile()
	if err != nil {
		return nil, inFile(p.File, err)
	}
	return wf, nil
}

func newCompiler(p *Pipeline, opts Options) *compiler {
	return &compiler{p: p, s: p.Spec, opts: opts, templateNames: map[string]bool{}, variants: map[string]string{}, building: map[string]bool{}, taskRefs: map[string]TaskRef{}, maxDAGTasks: maxDAGTasks, maxTemplates: maxTemplates}
}

type compiler struct {
	p              *Pipeline
	s              *PipelineSpec
	opts           Options
	templates      []wfv1.Template
	templateNames  map[string]bool
	variants       map[string]string            // variant key -> template name
	building       map[string]bool              // DAG components being compiled, to report recursion
	collect        map[string]map[string]string // producer task path -> output artifact -> collected key prefix
	taskRefs       map[string]TaskRef
	runtimeScripts map[string]bool // runtime script parameters the templates use
	// artifactWrapper: a Python template's contract lists artifacts, so the wrapper carries its artifact half.
	artifactWrapper bool
	maxDAGTasks     int            // tasks per DAG template before it is partitioned (tests make it small)
	maxTemplates    int            // templates before DAGs of the same shape are shared (tests make it small)
	store           *artifactStore // nil: the repository is not known
}

// scope is what a DAG template knows: its component, IR path, and how each of its inputs is referenced.
// artifactSource is where an artifact comes from in a DAG: a fixed location (pipeline input artifacts) or an
// Argo reference (a DAG template's input), with the Argo text of its metadata document.
type artifactSource struct {
	location *wfv1.ArtifactLocation
	from     string
	meta     string
	list     bool // a collected list: a folder of items and a list of metadata documents
}

type scope struct {
	comp      *ComponentSpec
	path      string
	inputs    map[string]string         // IR input parameter name -> Argo reference text; absent = not given
	artifacts map[string]artifactSource // IR input artifact name -> where it comes from; absent = not given
	retry     *RetryPolicy              // inherited from an enclosing task's retryPolicy
	hookFor   string                    // set while compiling a task that runs as the exit hook of this IR task
	schemes   map[string]string         // URI schemes of inputs whose value is known when compiling (importers need them)
	tasks     map[string]*TaskSpec
	virtual   map[string]*importerTask // importer tasks: no pod, consumers get the artifact location
}

func (c *compiler) compile() (*wfv1.Workflow, error) {
	if err := c.checkPlatformSupport(); err != nil {
		return nil, err
	}
	if err := checkOptions(c.opts); err != nil {
		return nil, err
	}
	if c.opts.Name != "" {
		if errs := validation.IsDNS1123Label(c.opts.Name); len(errs) > 0 {
			return nil, fmt.Errorf("--name %q: %s", c.opts.Name, strings.Join(errs, "; "))
		}
	}
	args, rootInputs, err := c.pipelineArguments()
	if err != nil {
		return nil, err
	}
	if err := c.planCollected(); err != nil {
		return nil, err
	}
	rootName := c.reserveName("pipeline-root")
	rootArts, artArgs, err := c.pipelineArtifacts()
	if err != nil {
		return nil, err
	}
	root, err := c.dagTemplate(rootName, scope{comp: c.s.Root, path: "root", inputs: rootInputs, artifacts: rootArts})
	if err != nil {
		return nil, err
	}
	// Argo gives the workflow's argument artifacts to the entrypoint's inputs of the same name.
	root.Inputs.Artifacts = append(root.Inputs.Artifacts, artArgs...)
	c.templates = append([]wfv1.Template{root}, c.templates...)
	sort.SliceStable(c.templates[1:], func(i, j int) bool { return c.templates[i+1].Name < c.templates[j+1].Name })
	if c.templates, err = mergeIdentical(c.templates, rootName, c.taskRefs); err != nil {
		return nil, err
	}
	shared, err := c.shareShapes(rootName)
	if err != nil {
		return nil, err
	}
	if args, err = c.runtimeArguments(args); err != nil {
		return nil, err
	}
	parts, err := c.partitionDAGs()
	if err != nil {
		return nil, err
	}

	wf := &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.opts.Name,
			Namespace:   c.opts.Namespace,
			Labels:      map[string]string{},
			Annotations: map[string]string{},
		},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: rootName,
			Arguments:  wfv1.Arguments{Parameters: args},
			Templates:  c.templates,
		},
	}
	if wf.Name == "" {
		wf.GenerateName = c.opts.GenerateName
		if wf.GenerateName == "" {
			wf.GenerateName = generateName(c.s.PipelineInfo.Name)
		}
	}
	if err := c.workspaceClaim(wf); err != nil {
		return nil, err
	}
	if err := c.workflowSettings(wf); err != nil {
		return nil, err
	}
	if ref := c.opts.ArtifactRepositoryRef; ref != "" {
		cm, key, found := strings.Cut(ref, "/")
		if !found {
			cm, key = "", ref
		}
		if key == "" {
			return nil, fmt.Errorf("--artifact-repository-ref %q: expected KEY or CONFIGMAP/KEY", ref)
		}
		wf.Spec.ArtifactRepositoryRef = &wfv1.ArtifactRepositoryRef{ConfigMap: cm, Key: key}
	}
	for k, v := range c.opts.Labels {
		wf.Labels[k] = v
	}
	for k, v := range c.opts.Annotations {
		wf.Annotations[k] = v
	}
	wf.Labels[LabelManagedBy] = ManagedByValue
	wf.Labels[LabelPipeline] = LabelValue(c.s.PipelineInfo.Name)
	wf.Annotations[AnnotationPipelineName] = c.s.PipelineInfo.Name
	wf.Annotations[AnnotationIRDigest] = c.p.Digest
	if d := c.s.PipelineInfo.DisplayName; d != "" {
		wf.Annotations[AnnotationDisplayName] = d
	}
	if d := c.s.PipelineInfo.Description; d != "" {
		wf.Annotations[AnnotationDescription] = truncateText(d, maxDescriptionBytes)
	}
	refs, err := encodeTaskNames(renamedTasks(c.taskRefs))
	if err != nil {
		return nil, err
	}
	wf.Annotations[AnnotationTaskNames] = refs
	setTemplateList(wf, AnnotationDAGParts, parts)
	setTemplateList(wf, AnnotationSharedDAGs, shared)
	if err := checkObjectLimits(wf); err != nil {
		return nil, err
	}
	return wf, nil
}

// workflowSettings applies the pipeline-level options of Argo's WorkflowSpec.
func (c *compiler) workflowSettings(wf *wfv1.Workflow) error {
	o := c.opts
	wf.Spec.ServiceAccountName = o.ServiceAccount
	if o.TTL < 0 || o.ActiveDeadline < 0 || o.Parallelism < 0 {
		return fmt.Errorf("--ttl, --active-deadline and --parallelism must not be negative")
	}
	if err := c.pipelineConfigSettings(wf); err != nil {
		return err
	}
	if o.TTL > 0 {
		secs, err := int32In(math.Ceil(o.TTL.Seconds()), 1, math.MaxInt32, "--ttl in seconds")
		if err != nil {
			return err
		}
		wf.Spec.TTLStrategy = &wfv1.TTLStrategy{SecondsAfterCompletion: ptr(secs)}
	}
	if o.ActiveDeadline > 0 {
		wf.Spec.ActiveDeadlineSeconds = ptr(int64(o.ActiveDeadline.Seconds()))
	}
	if o.Parallelism > 0 {
		wf.Spec.Parallelism = ptr(int64(o.Parallelism))
	}
	if o.PodGC != "" {
		switch s := wfv1.PodGCStrategy(o.PodGC); s {
		case wfv1.PodGCOnPodCompletion, wfv1.PodGCOnPodSuccess, wfv1.PodGCOnWorkflowCompletion, wfv1.PodGCOnWorkflowSuccess:
			wf.Spec.PodGC = &wfv1.PodGC{Strategy: s}
		default:
			return fmt.Errorf("--pod-gc %q: expected OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess", o.PodGC)
		}
	}
	if o.InstanceID != "" {
		if errs := validation.IsValidLabelValue(o.InstanceID); len(errs) > 0 {
			return fmt.Errorf("--instance-id %q: %s", o.InstanceID, strings.Join(errs, "; "))
		}
		wf.Labels["workflows.argoproj.io/controller-instanceid"] = o.InstanceID
	}
	return nil
}

// pipelineArguments turns root inputs into spec.arguments with defaults and overrides applied, and returns how
// the root DAG references each input. Optional inputs with no value are left out: their consumers see them as
// not given, as in KFP.
func (c *compiler) pipelineArguments() ([]wfv1.Parameter, map[string]string, error) {
	defs := map[string]*ParameterSpec{}
	if c.s.Root.InputDefinitions != nil {
		defs = c.s.Root.InputDefinitions.Parameters
	}
	for _, name := range sortedMapKeys(c.opts.Parameters) {
		if defs[name] == nil {
			known := strings.Join(sortedMapKeys(defs), ", ")
			if known == "" {
				known = "none"
			}
			return nil, nil, fmt.Errorf("parameter %q: the pipeline has no such input (inputs: %s)", name, known)
		}
	}
	var args []wfv1.Parameter
	refs := map[string]string{}
	for _, name := range sortedMapKeys(defs) {
		def := defs[name]
		path := fmt.Sprintf("root.inputDefinitions.parameters[%q]", name)

		value := def.DefaultValue
		if v, ok := c.opts.Parameters[name]; ok {
			if s, isText := v.(string); isText && def.ParameterType != TypeString {
				parsed, err := ParseParameterText(def.ParameterType, s)
				if err != nil {
					return nil, nil, fmt.Errorf("parameter %q (%s): %w", name, def.ParameterType, err)
				}
				v = parsed
			}
			if _, err := canonicalValue(def.ParameterType, v); err != nil {
				return nil, nil, fmt.Errorf("parameter %q (%s): %w", name, def.ParameterType, err)
			}
			if err := checkLiteral(def, v); err != nil {
				return nil, nil, fmt.Errorf("parameter %q: %w", name, err)
			}
			value = v
		}
		p := wfv1.Parameter{Name: paramName(name)}
		if len(def.Literals) > 0 {
			// Argo checks values given at submit time (argo submit -p) against the enum too.
			allowed, err := literalTexts(def)
			if err != nil {
				return nil, nil, pathErrorf(path, "%v", err)
			}
			for _, a := range allowed {
				p.Enum = append(p.Enum, *wfv1.AnyStringPtr(inert(a)))
			}
		}
		if def.Description != "" {
			// The controller's global substitution evaluates the arguments, descriptions included.
			p.Description = wfv1.AnyStringPtr(inert(def.Description))
		}
		if value != nil {
			// The allowed value's own text, so that Argo finds the value in the enum.
			text, err := literalOf(def, value)
			if err != nil {
				return nil, nil, pathErrorf(path, "%v", err)
			}
			p.Value = wfv1.AnyStringPtr(inert(text))
		} else if def.IsOptional {
			continue
		}
		// A TASK_FINAL_STATUS pipeline input (a component compiled on its own) has no producer: it is an
		// argument without value that the user gives as JSON, like any required input.
		args = append(args, p)
		// The root DAG reads pipeline inputs as globals: an input without a value stays valid for `argo lint`
		// and is filled by `argo submit -p`.
		refs[name] = fmt.Sprintf("{{workflow.parameters.%s}}", p.Name)
	}
	return args, refs, nil
}

// pipelineArtifacts locates pipeline input artifacts from --input-artifact NAME=URI: `argo submit` cannot take
// an artifact location the way it takes a parameter (-p), so the URI is fixed when compiling. With
// ArtifactArguments, the others are returned as the entrypoint's input artifacts, which a run made from a
// WorkflowTemplate supplies.
func (c *compiler) pipelineArtifacts() (map[string]artifactSource, []wfv1.Artifact, error) {
	locs := map[string]artifactSource{}
	var args []wfv1.Artifact
	var defs map[string]*ArtifactSpec
	if c.s.Root.InputDefinitions != nil {
		defs = c.s.Root.InputDefinitions.Artifacts
	}
	for _, name := range sortedMapKeys(c.opts.InputArtifacts) {
		if defs[name] == nil {
			return nil, nil, fmt.Errorf("input artifact %q: the pipeline has no such input artifact", name)
		}
	}
	var missing []string
	for _, name := range sortedMapKeys(defs) {
		path := fmt.Sprintf("root.inputDefinitions.artifacts[%q]", name)
		if defs[name].IsArtifactList {
			return nil, nil, unsupported(path, "pipeline input artifact lists")
		}
		uri, ok := c.opts.InputArtifacts[name]
		if !ok && c.opts.ArtifactArguments && !defs[name].IsOptional {
			// Given at submit time from outside the run: no producer metadata, an empty document.
			args = append(args, wfv1.Artifact{Name: paramName(name)})
			locs[name] = artifactSource{from: "{{inputs.artifacts." + paramName(name) + "}}", meta: `{"metadata":{}}`}
			continue
		}
		if !ok {
			if !defs[name].IsOptional {
				missing = append(missing, name)
			}
			continue
		}
		loc, err := constantLocation(uri)
		if err == nil && loc.S3 != nil {
			err = c.store.s3Location(loc.S3, true)
		}
		if err != nil {
			return nil, nil, &Error{Path: path, Err: fmt.Errorf("--input-artifact %s=%s: %w", name, uri, err)}
		}
		// An artifact given to the run from outside has no producer metadata: an empty document.
		locs[name] = artifactSource{location: &loc, meta: `{"metadata":{}}`}
	}
	switch len(missing) {
	case 0:
		return locs, args, nil
	case 1:
		return nil, nil, pathErrorf(fmt.Sprintf("root.inputDefinitions.artifacts[%q]", missing[0]), "the pipeline needs this input artifact: give its location with --input-artifact %s=URI (or compile with --kind workflowtemplate, whose runs give it)", missing[0])
	}
	flags := make([]string, len(missing))
	for i, n := range missing {
		flags[i] = "--input-artifact " + n + "=URI"
	}
	return nil, nil, pathErrorf("root.inputDefinitions.artifacts", "the pipeline needs %d input artifacts: give their locations with %s (or compile with --kind workflowtemplate, whose runs give them)", len(missing), strings.Join(flags, " "))
}

func (c *compiler) reserveName(want string) string {
	name := fieldName(want)
	for i := 2; c.templateNames[name]; i++ {
		name = fieldName(fmt.Sprintf("%s-%d", want, i))
	}
	c.templateNames[name] = true
	return name
}

func (c *compiler) dagTemplate(name string, sc scope) (wfv1.Template, error) {
	dag := sc.comp.DAG
	sc.tasks = dag.Tasks
	sc.virtual = map[string]*importerTask{}
	tmpl := wfv1.Template{Name: name, DAG: &wfv1.DAGTemplate{}}
	taskNames := sortedMapKeys(dag.Tasks)
	// Importers first: their consumers need to know the artifact location.
	for _, tn := range taskNames {
		t := dag.Tasks[tn]
		comp := c.s.Components[t.ComponentRef.Name]
		if comp.ExecutorLabel == "" || c.s.DeploymentSpec.Executors[comp.ExecutorLabel].Importer == nil {
			continue
		}
		tp := fmt.Sprintf("%s.tasks[%q]", sc.path+".dag", tn)
		if err := c.taskGates(t, tp); err != nil {
			return tmpl, err
		}
		imp, err := c.importer(sc, t, comp, tp)
		if err != nil {
			return tmpl, err
		}
		sc.virtual[tn] = imp
		c.taskRefs[taskRefKey(sc.path, name, fieldName(tn))] = TaskRef{Task: tn, DisplayName: t.TaskInfo.Name}
	}
	hooks, err := c.exitHooks(sc)
	if err != nil {
		return tmpl, err
	}
	hooked := map[string]bool{}
	for _, h := range hooks {
		hooked[h] = true
	}
	for _, tn := range taskNames {
		if sc.virtual[tn] != nil || hooked[tn] {
			continue
		}
		t := dag.Tasks[tn]
		tp := fmt.Sprintf("%s.tasks[%q]", sc.path+".dag", tn)
		task, err := c.dagTask(sc, tn, t, tp)
		if err != nil {
			return tmpl, err
		}
		if h, ok := hooks[tn]; ok {
			hook, err := c.exitHook(sc, tn, h)
			if err != nil {
				return tmpl, err
			}
			task.Hooks = wfv1.LifecycleHooks{wfv1.ExitLifecycleEvent: hook}
			c.taskRefs[taskRefKey(sc.path, name, task.Name)+".onExit"] = TaskRef{Task: h, DisplayName: dag.Tasks[h].TaskInfo.Name}
		}
		tmpl.DAG.Tasks = append(tmpl.DAG.Tasks, task)
		c.taskRefs[taskRefKey(sc.path, name, task.Name)] = TaskRef{Task: tn, DisplayName: t.TaskInfo.Name}
	}
	if len(tmpl.DAG.Tasks) == 0 {
		return tmpl, pathErrorf(sc.path+".dag.tasks", "the DAG has no task that runs a container")
	}
	if err := c.dagOutputs(sc, &tmpl); err != nil {
		return tmpl, err
	}
	return tmpl, nil
}

// exitHooks finds the tasks that run after one upstream task however it ended (dsl.ExitHandler and
// ignore_upstream_failure: trigger strategy ALL_UPSTREAM_TASKS_COMPLETED). Each becomes the Argo exit hook of
// that upstream task: it runs once the upstream is done, and the upstream keeps its own phase, so a failed
// body still fails the run even when the exit task succeeds. Returns upstream -> hook task.
func (c *compiler) exitHooks(sc scope) (map[string]string, error) {
	hooks := map[string]string{}
	for _, tn := range sortedMapKeys(sc.tasks) {
		t := sc.tasks[tn]
		if t.TriggerPolicy == nil || t.TriggerPolicy.Strategy == "" {
			continue
		}
		tp := fmt.Sprintf("%s.dag.tasks[%q].triggerPolicy", sc.path, tn)
		if t.TriggerPolicy.Strategy != "ALL_UPSTREAM_TASKS_COMPLETED" {
			return nil, unsupported(tp+".strategy", "trigger strategy "+t.TriggerPolicy.Strategy)
		}
		if t.TriggerPolicy.Condition != "" {
			return nil, unsupported(tp, "a condition on a task that ignores upstream failures")
		}
		ups := upstreams(t)
		if len(ups) != 1 || sc.virtual[ups[0]] != nil {
			return nil, unsupported(tp+".strategy", fmt.Sprintf("ignoring the failure of %d upstream tasks (kfp-argo maps one upstream task to an Argo exit hook)", len(ups)))
		}
		for _, other := range sortedMapKeys(sc.tasks) {
			for _, u := range upstreams(sc.tasks[other]) {
				if u == tn {
					return nil, unsupported(tp+".strategy", fmt.Sprintf("task %q depends on %q, which runs as an exit hook", other, tn))
				}
			}
		}
		if prev, ok := hooks[ups[0]]; ok {
			return nil, unsupported(tp+".strategy", fmt.Sprintf("tasks %q and %q both run after %q completes", prev, tn, ups[0]))
		}
		hooks[ups[0]] = tn
	}
	return hooks, nil
}

// upstreams lists the sibling tasks a task waits for: its dependencies and the producers of its inputs.
func upstreams(t *TaskSpec) []string {
	set := map[string]bool{}
	for _, d := range t.DependentTasks {
		set[d] = true
	}
	if t.Inputs != nil {
		for _, p := range t.Inputs.Parameters {
			if p.TaskOutputParameter != nil {
				set[p.TaskOutputParameter.ProducerTask] = true
			}
			if p.TaskFinalStatus != nil {
				set[p.TaskFinalStatus.ProducerTask] = true
			}
		}
		for _, a := range t.Inputs.Artifacts {
			if a.TaskOutputArtifact != nil {
				set[a.TaskOutputArtifact.ProducerTask] = true
			}
		}
	}
	return sortedMapKeys(set)
}

// exitHook compiles hook task h as the exit hook of upstream u.
func (c *compiler) exitHook(sc scope, u, h string) (wfv1.LifecycleHook, error) {
	sc.hookFor = u
	tp := fmt.Sprintf("%s.dag.tasks[%q]", sc.path, h)
	task, err := c.dagTask(sc, h, sc.tasks[h], tp)
	if err != nil {
		return wfv1.LifecycleHook{}, err
	}
	return wfv1.LifecycleHook{Template: task.Template, Arguments: task.Arguments}, nil
}

// finalStatus is the PipelineTaskFinalStatus of the hooked task, built by Argo from the task's phase.
func (c *compiler) finalStatus(sc scope, producer string) string {
	status := fmt.Sprintf("tasks[%s].status", exprString(fieldName(producer)))
	state := fmt.Sprintf("(%[1]s == 'Succeeded' ? 'SUCCEEDED' : (%[1]s == 'Skipped' || %[1]s == 'Omitted' ? 'SKIPPED' : 'FAILED'))", status)
	message := fmt.Sprintf("(%[1]s == 'Succeeded' ? '' : %[2]s + ' ended ' + %[1]s)", status, exprString(producer))
	code := fmt.Sprintf("(%s == 'Succeeded' ? 0 : 2)", status)
	return fmt.Sprintf("{{=toJson(sprig.dict('state', %s, 'pipelineJobResourceName', workflow.name, 'pipelineTaskName', %s, 'error', sprig.dict('code', %s, 'message', %s)))}}",
		state, exprString(producer), code, message)
}

// taskRefKey keys the kfp-argo.io/task-names annotation: the Argo task name in the root DAG, and
// "<DAG template>/<task>" inside sub-pipelines, where the same task name may occur in several templates.
func taskRefKey(scopePath, template, task string) string {
	if scopePath == "root" {
		return task
	}
	return template + "/" + task
}

// taskGates reports task features that belong to later work as unsupported, naming them.
func (c *compiler) taskGates(t *TaskSpec, tp string) error {
	return nil
}

func (c *compiler) dagTask(sc scope, tn string, t *TaskSpec, tp string) (wfv1.DAGTask, error) {
	task := wfv1.DAGTask{Name: fieldName(tn)}
	if err := c.taskGates(t, tp); err != nil {
		return task, err
	}
	comp := c.s.Components[t.ComponentRef.Name]
	var platformDeps []string // producers of values the task's kfp-kubernetes settings read
	given, modelCars, err := c.taskArguments(sc, t, comp, tp, &task)
	if err != nil {
		return task, err
	}
	retry := sc.retry
	if t.RetryPolicy != nil {
		retry = t.RetryPolicy
	}
	if comp.DAG != nil {
		if len(modelCars) > 0 {
			return task, unsupported(tp, "model cars (oci://) passed into a sub-pipeline")
		}
		name, err := c.dagComponentTemplate(t.ComponentRef.Name, comp, retry, c.knownSchemes(sc, t))
		if err != nil {
			return task, err
		}
		task.Template = name
	} else {
		exec := c.s.DeploymentSpec.Executors[comp.ExecutorLabel]
		if exec.Container == nil {
			kind := "resolver"
			if exec.CustomJob != nil {
				kind = "customJob"
			}
			return task, unsupported(fmt.Sprintf("deploymentSpec.executors[%q].%s", comp.ExecutorLabel, kind), kind+" executors")
		}
		var cache *CachingOptions
		if !c.opts.NoCache && t.CachingOptions != nil && t.CachingOptions.EnableCache {
			cache = t.CachingOptions
		}
		pc, err := c.taskPlatform(sc, t, comp, tp)
		if err != nil {
			return task, err
		}
		var name string
		switch pvcOp(exec.Container) {
		case "":
			name, err = c.containerTemplate(t.ComponentRef.Name, comp, exec.Container, cache, given, modelCars, retry, pc, tp)
		default:
			if len(modelCars) > 0 {
				return task, unsupported(tp, "model cars (oci://) given to a PVC task")
			}
			name, err = c.pvcTemplate(t.ComponentRef.Name, comp, exec.Container, given, retry, tp)
		}
		if err != nil {
			return task, err
		}
		task.Template = name
		task.Arguments.Parameters = append(task.Arguments.Parameters, pc.args...)
		if pvcOp(exec.Container) == "" && usesTaskName(exec.Container) {
			task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: taskNameParameter, Value: wfv1.AnyStringPtr(inert(tn))})
		}
		platformDeps = pc.deps
	}
	if t.TriggerPolicy != nil && t.TriggerPolicy.Condition != "" {
		when, err := c.condition(sc, t, comp, t.TriggerPolicy.Condition)
		if err != nil {
			return task, pathErrorf(tp+".triggerPolicy.condition", "%v", err)
		}
		task.When = when
	}
	task.Depends = c.depends(sc, t, platformDeps...)
	if t.ParameterIterator != nil {
		return c.loop(sc, t, comp, task, tp)
	}
	if t.ArtifactIterator != nil {
		return c.artifactLoop(sc, t, comp, task, tp)
	}
	if t.IteratorPolicy != nil {
		return task, pathErrorf(tp+".iteratorPolicy", "an iterator policy needs a parameterIterator")
	}
	return task, nil
}

// dagComponentTemplate compiles a DAG component (sub-pipeline, condition branch, exit handler body) into a DAG
// template with the component's inputs, shared by every task that uses it with the same inherited retry policy.
func (c *compiler) dagComponentTemplate(compName string, comp *ComponentSpec, retry *RetryPolicy, schemes map[string]string) (string, error) {
	path := fmt.Sprintf("components[%q]", compName)
	// Before the cache: the template of a component being built is already reserved there.
	if c.building[compName] {
		return "", pathErrorf(path, "the component uses itself")
	}
	key := "dag|" + compName + "|" + digestOf(retry, schemes)
	if name, ok := c.variants[key]; ok {
		return name, nil
	}
	c.building[compName] = true
	defer delete(c.building, compName)
	name := c.reserveName(compName)
	c.variants[key] = name

	sc := scope{comp: comp, path: path, inputs: map[string]string{}, artifacts: map[string]artifactSource{}, retry: retry, schemes: schemes}
	var inputs wfv1.Inputs
	if in := comp.InputDefinitions; in != nil {
		for _, n := range sortedMapKeys(in.Parameters) {
			p, err := templateInput(n, in.Parameters[n])
			if err != nil {
				return "", pathErrorf(fmt.Sprintf("%s.inputDefinitions.parameters[%q].defaultValue", path, n), "%v", err)
			}
			inputs.Parameters = append(inputs.Parameters, p)
			sc.inputs[n] = "{{inputs.parameters." + p.Name + "}}"
		}
		for _, n := range sortedMapKeys(in.Artifacts) {
			def := in.Artifacts[n]
			inputs.Artifacts = append(inputs.Artifacts, wfv1.Artifact{Name: paramName(n), Optional: def.IsOptional})
			mp := wfv1.Parameter{Name: MetadataParameterPrefix + paramName(n)}
			if def.IsOptional {
				mp.Default = wfv1.AnyStringPtr(noneValue)
			}
			inputs.Parameters = append(inputs.Parameters, mp)
			sc.artifacts[n] = artifactSource{from: "{{inputs.artifacts." + paramName(n) + "}}", meta: "{{inputs.parameters." + mp.Name + "}}", list: def.IsArtifactList}
		}
	}
	tmpl, err := c.dagTemplate(name, sc)
	if err != nil {
		return "", err
	}
	tmpl.Inputs = inputs
	c.templates = append(c.templates, tmpl)
	return name, nil
}

// depends joins a task's upstream tasks (and extra ones) for Argo; importers have no node to wait for.
func (c *compiler) depends(sc scope, t *TaskSpec, extra ...string) string {
	set := map[string]bool{}
	for _, d := range append(upstreams(t), extra...) {
		if sc.virtual[d] == nil {
			set[fieldName(d)] = true
		}
	}
	return strings.Join(sortedMapKeys(set), " && ")
}

// taskArguments fills the DAG task's arguments and returns which component inputs the task gives.
// It also returns the input artifacts that are model cars (oci:// importers), which the template provides itself.
func (c *compiler) taskArguments(sc scope, t *TaskSpec, comp *ComponentSpec, tp string, task *wfv1.DAGTask) (map[string]bool, map[string]bool, error) {
	given := map[string]bool{}
	modelCars := map[string]bool{}
	resourceIn := map[string]bool{}
	if comp.ExecutorLabel != "" {
		if ex := c.s.DeploymentSpec.Executors[comp.ExecutorLabel]; ex.Container != nil {
			for _, n := range resourceInputs(ex.Container) {
				if t.Inputs == nil || t.Inputs.Parameters[n] == nil {
					return nil, nil, pathErrorf(tp+".inputs.parameters", "the resources of executor %q take their value from input %q, which the task does not have", comp.ExecutorLabel, n)
				}
				resourceIn[n] = true
			}
		}
	}
	if t.Inputs == nil {
		return given, modelCars, nil
	}
	for _, name := range sortedMapKeys(t.Inputs.Parameters) {
		def := inputParam(comp, name)
		typ := TypeString
		switch {
		case def != nil:
			typ = def.ParameterType
		case resourceIn[name]:
			// a resource value taken from this input: the template declares it for its podSpecPatch
		default:
			continue // a pipelinechannel-- operand: only read by placeholders in constants
		}
		pp := fmt.Sprintf("%s.inputs.parameters[%q]", tp, name)
		value, ok, err := c.parameterSource(sc, t, name, typ, pp)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			if def != nil && !def.IsOptional && def.DefaultValue == nil {
				return nil, nil, pathErrorf(pp, "input %q of component %q is required, but its source, optional input %q of the enclosing component, has no value and no default: give it a value (at the top level: -p %s=VALUE)", name, t.ComponentRef.Name, t.Inputs.Parameters[name].ComponentInputParameter, t.Inputs.Parameters[name].ComponentInputParameter)
			}
			continue
		}
		given[name] = true
		task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: paramName(name), Value: wfv1.AnyStringPtr(value)})
	}
	for _, name := range sortedMapKeys(t.Inputs.Artifacts) {
		ia := t.Inputs.Artifacts[name]
		ap := fmt.Sprintf("%s.inputs.artifacts[%q]", tp, name)
		def := inputArtifact(comp, name)
		art := wfv1.Artifact{Name: paramName(name)}
		var meta string
		if def.IsArtifactList && ia.TaskOutputArtifact != nil && sc.virtual[ia.TaskOutputArtifact.ProducerTask] != nil {
			return nil, nil, unsupported(ap, "artifact lists that do not come from a loop (dsl.Collected)")
		}
		if src, ok := sc.artifacts[ia.ComponentInputArtifact]; ok && ia.ComponentInputArtifact != "" && src.list != def.IsArtifactList {
			return nil, nil, pathErrorf(ap, "an artifact list and a single artifact do not match")
		}
		switch {
		case ia.TaskOutputArtifact != nil:
			ref := ia.TaskOutputArtifact
			if imp := sc.virtual[ref.ProducerTask]; imp != nil {
				meta = imp.metadata
				if imp.image != "" {
					// A model car: the consumer's template copies the model out of the image.
					if comp.DAG != nil {
						return nil, nil, unsupported(ap, "model cars (oci://) passed into a sub-pipeline")
					}
					given[name] = true
					modelCars[name] = true
					task.Arguments.Parameters = append(task.Arguments.Parameters,
						wfv1.Parameter{Name: MetadataParameterPrefix + paramName(name), Value: wfv1.AnyStringPtr(meta)},
						wfv1.Parameter{Name: modelCarParameterPrefix + paramName(name), Value: wfv1.AnyStringPtr(imp.image)})
					continue
				}
				art.ArtifactLocation = imp.location
				break
			}
			loc, collected, err := c.collectedInput(sc, ref, def, ap)
			if err != nil {
				return nil, nil, err
			}
			if collected {
				// The metadata documents, aggregated by Argo in iteration order, say which items are this list's.
				art.ArtifactLocation = loc
				meta = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s%s}}", fieldName(ref.ProducerTask), MetadataParameterPrefix, paramName(ref.OutputArtifactKey))
				break
			}
			art.From = fmt.Sprintf("{{tasks.%s.outputs.artifacts.%s}}", fieldName(ref.ProducerTask), paramName(ref.OutputArtifactKey))
			meta = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s%s}}", fieldName(ref.ProducerTask), MetadataParameterPrefix, paramName(ref.OutputArtifactKey))
			if ref.ProducerTask == sc.hookFor {
				art.Optional = true
				meta = hookOutput(ref.ProducerTask, MetadataParameterPrefix+paramName(ref.OutputArtifactKey))
			}
		default:
			src, ok := sc.artifacts[ia.ComponentInputArtifact]
			if !ok {
				continue // an optional pipeline input artifact that was not given
			}
			if src.location != nil {
				art.ArtifactLocation = *src.location
			}
			art.From = src.from
			meta = src.meta
		}
		given[name] = true
		task.Arguments.Artifacts = append(task.Arguments.Artifacts, art)
		task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: MetadataParameterPrefix + paramName(name), Value: wfv1.AnyStringPtr(meta)})
	}
	return given, modelCars, nil
}

// hookOutput is the Argo text of an output parameter of the task an exit hook runs after: its value when the
// task succeeded, else "not given". Argo's scope holds a failed task's declared output parameters too, empty,
// so only the task's status tells a value from none.
func hookOutput(producer, param string) string {
	task := fmt.Sprintf("tasks[%s]", exprString(fieldName(producer)))
	return fmt.Sprintf("{{=%[1]s.status == 'Succeeded' ? (%[1]s?.outputs?.parameters?.[%[2]s] ?? '%[3]s') : '%[3]s'}}", task, exprString(param), noneValue)
}

// parameterSource returns the Argo text for a task input parameter in the DAG's scope; ok=false when the
// source is an optional input of the enclosing DAG that was not given.
func (c *compiler) parameterSource(sc scope, t *TaskSpec, name, typ, pp string) (string, bool, error) {
	ip := t.Inputs.Parameters[name]
	if ip.ParameterExpressionSelector != "" {
		return c.selected(sc, t, name, pp)
	}
	switch {
	case ip.ComponentInputParameter != "":
		ref, ok := sc.inputs[ip.ComponentInputParameter]
		if !ok && inputParam(sc.comp, ip.ComponentInputParameter) == nil {
			return "", false, pathErrorf(pp+".componentInputParameter", "%q is neither an input of the enclosing component nor the item of an enclosing ParallelFor", ip.ComponentInputParameter)
		}
		return ref, ok, nil
	case ip.TaskOutputParameter != nil:
		ref := ip.TaskOutputParameter
		if sc.virtual[ref.ProducerTask] != nil {
			return "", false, pathErrorf(pp, "an importer has no output parameters")
		}
		if ref.ProducerTask == sc.hookFor {
			// The upstream of an exit hook may have failed without outputs: the input is then not given.
			return hookOutput(ref.ProducerTask, paramName(ref.OutputParameterKey)), true, nil
		}
		text := fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", fieldName(ref.ProducerTask), paramName(ref.OutputParameterKey))
		conv, collected, err := c.collected(sc.tasks[ref.ProducerTask], ref.OutputParameterKey, "tasks["+exprString(fieldName(ref.ProducerTask))+"].outputs.parameters["+exprString(paramName(ref.OutputParameterKey))+"]")
		if err != nil {
			return "", false, pathErrorf(pp, "%v", err)
		}
		if collected {
			return "{{=toJson(" + conv + ")}}", true, nil
		}
		return text, true, nil
	case ip.TaskFinalStatus != nil:
		if ip.TaskFinalStatus.ProducerTask != sc.hookFor {
			return "", false, pathErrorf(pp+".taskFinalStatus", "the final status of %q is only known to a task that runs after it however it ended", ip.TaskFinalStatus.ProducerTask)
		}
		return c.finalStatus(sc, ip.TaskFinalStatus.ProducerTask), true, nil
	case ip.RuntimeValue != nil:
		v, err := c.constant(sc, t, ip.RuntimeValue.Constant, typ, pp+".runtimeValue.constant")
		return v, err == nil, err
	}
	return "", false, pathErrorf(pp, "no value source")
}

// constant renders a task input constant. String constants may hold placeholders of the task's own
// pipelinechannel inputs (f-strings) and of the run (job name, ...): those resolve in the DAG's scope.
func (c *compiler) constant(sc scope, t *TaskSpec, v any, typ, path string) (string, error) {
	if s, ok := v.(string); ok && strings.Contains(s, "{{$") {
		return resolveText(s, func(ph placeholder, raw string) (string, error) {
			if ph.builtin == executorOutputBuiltin && c.runsWithExecutorInput(t) {
				// dsl.PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER as an argument: the file the wrapper reads
				// after the component.
				return executorOutputFile, nil
			}
			if ph.builtin != "" {
				return c.dagBuiltin(ph.builtin, taskKey(sc, t), path)
			}
			if ph.io == "inputs" && ph.kind == "parameters" && ph.attr == "" {
				ch := t.Inputs.Parameters[ph.name]
				if ch == nil {
					return "", pathErrorf(path, "placeholder %s: the task has no input %q", raw, ph.name)
				}
				ref, ok, err := c.parameterSource(sc, t, ph.name, TypeString, path)
				if err != nil {
					return "", err
				}
				if !ok {
					return noneValue, nil
				}
				return ref, nil
			}
			return "", pathErrorf(path, "placeholder %s cannot be used in a task input constant", raw)
		})
	}
	if typ == TypeString {
		if s, ok := v.(string); ok {
			return inert(s), nil
		}
	}
	text, err := canonicalValue(typ, v)
	if err != nil {
		return "", pathErrorf(path, "%v", err)
	}
	return inert(text), nil
}

// runsWithExecutorInput tells whether a task's component runs under the Python wrapper (its command line has
// {{$}}), which reads the executor output file.
func (c *compiler) runsWithExecutorInput(t *TaskSpec) bool {
	comp := c.s.Components[t.ComponentRef.Name]
	if comp == nil || comp.DAG != nil {
		return false
	}
	exec := c.s.DeploymentSpec.Executors[comp.ExecutorLabel]
	if exec == nil || exec.Container == nil {
		return false
	}
	for _, s := range append(append([]string(nil), exec.Container.Command...), exec.Container.Args...) {
		if strings.Contains(s, "{{$}}") {
			return true
		}
	}
	return false
}

// taskKey is the IR name of a task of the scope's DAG: its key in dag.tasks, which KFP's driver gives as
// {{$.pipeline_task_name}} (taskInfo.name is the display name).
func taskKey(sc scope, t *TaskSpec) string {
	for k, v := range sc.tasks {
		if v == t {
			return k
		}
	}
	return t.TaskInfo.Name
}

// dagBuiltin maps run placeholders to Argo variables, as seen from a DAG task's arguments.
func (c *compiler) dagBuiltin(name, task string, path string) (string, error) {
	switch name {
	case "pipeline_job_name", "pipeline_job_resource_name":
		return "{{workflow.name}}", nil
	case "pipeline_job_uuid":
		return "{{workflow.uid}}", nil
	case "pipeline_task_name":
		return inert(task), nil
	case "pipeline_task_uuid":
		// Argo has no variable for a node's id before it exists; the run uid and the IR task name identify
		// the task within the run.
		return "{{workflow.uid}}." + inert(task), nil
	case "workspace_path":
		return c.workspacePath(path)
	}
	if v, ok, err := c.runBuiltin(name, path); ok || err != nil {
		return v, err
	}
	return "", unsupportedBuiltin(name, path)
}

// runBuiltin maps the run placeholders that read the same in a DAG and in a pod: the run's times and the
// pipeline root.
func (c *compiler) runBuiltin(name, path string) (string, bool, error) {
	switch name {
	case "pipeline_job_create_time_utc":
		// Argo formats metadata.creationTimestamp as RFC 3339 in UTC, as KFP does.
		return "{{workflow.creationTimestamp}}", true, nil
	case "pipeline_job_schedule_time_utc":
		// A CronWorkflow's run carries its scheduled time; any other run was scheduled when it was created. In an
		// expression workflow.creationTimestamp is the map of its strftime fields (Argo's globals hold both
		// workflow.creationTimestamp and workflow.creationTimestamp.Y, ...): its RFC3339 field is the text.
		return "{{=workflow.scheduledTime ?? workflow.creationTimestamp.RFC3339}}", true, nil
	case "pipeline_root":
		switch {
		case c.store != nil:
			return c.store.uri("kfp-argo"), true, nil
		case c.s.DefaultPipelineRoot != "":
			return inert(c.s.DefaultPipelineRoot), true, nil
		}
		return "", true, pathErrorf(path, "{{$.pipeline_root}} is the artifact repository's location: give it with --artifact-store SCHEME://BUCKET (or set defaultPipelineRoot in the spec)")
	}
	return "", false, nil
}

func unsupportedBuiltin(name, path string) error {
	switch name {
	case "pipeline_google_cloud_project_id", "pipeline_google_cloud_location", "pipeline_persistent_resource_id":
		return unsupported(path, "Vertex AI placeholder {{$."+name+"}}")
	case executorOutputBuiltin:
		return unsupported(path, "{{$.outputs.output_file}} given to a component that does not run with the ExecutorInput ({{$}}): kfp-argo reads no executor output file for it")
	}
	return pathErrorf(path, "unknown placeholder {{$.%s}}", name)
}

func (c *compiler) dagOutputs(sc scope, tmpl *wfv1.Template) error {
	outs := sc.comp.DAG.Outputs
	if outs == nil {
		return nil
	}
	for _, name := range sortedMapKeys(outs.Parameters) {
		o := outs.Parameters[name]
		op := fmt.Sprintf("%s.dag.outputs.parameters[%q]", sc.path, name)
		if o.ValueFromOneof != nil {
			expr, err := oneOf(sc, o.ValueFromOneof.ParameterSelectors, op, func(sel ParameterSelector) (string, string) {
				return sel.ProducerSubtask, fmt.Sprintf("outputs?.parameters?.[%s]", exprString(paramName(sel.OutputParameterKey)))
			})
			if err != nil {
				return err
			}
			tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: paramName(name), ValueFrom: &wfv1.ValueFrom{Expression: expr}})
			continue
		}
		sel := o.ValueFromParameter
		if sc.virtual[sel.ProducerSubtask] != nil {
			return pathErrorf(op, "an importer has no output parameters")
		}
		if sc.path == "root" {
			// A pipeline output collected from a loop: Argo's aggregate holds strings ("2"); the run record shows
			// the typed list KFP's dsl.Collected makes ([2,4,6]).
			conv, collected, err := c.collected(sc.tasks[sel.ProducerSubtask], sel.OutputParameterKey, "tasks["+exprString(fieldName(sel.ProducerSubtask))+"].outputs.parameters["+exprString(paramName(sel.OutputParameterKey))+"]")
			if err != nil {
				return pathErrorf(op, "%v", err)
			}
			if collected {
				tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: paramName(name), ValueFrom: &wfv1.ValueFrom{Expression: "toJson(" + conv + ")", Default: wfv1.AnyStringPtr(noneValue)}})
				continue
			}
		}
		// A producer under a condition may be skipped: Argo then fails the DAG's output unless it has a
		// default, and KFP sees the output as not given.
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{
			Name:      paramName(name),
			ValueFrom: &wfv1.ValueFrom{Parameter: fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", fieldName(sel.ProducerSubtask), paramName(sel.OutputParameterKey)), Default: wfv1.AnyStringPtr(noneValue)},
		})
	}
	for _, name := range sortedMapKeys(outs.Artifacts) {
		o := outs.Artifacts[name]
		op := fmt.Sprintf("%s.dag.outputs.artifacts[%q]", sc.path, name)
		if len(o.ArtifactSelectors) > 1 {
			art, err := oneOf(sc, convertSelectors(o.ArtifactSelectors), op, func(sel ParameterSelector) (string, string) {
				return sel.ProducerSubtask, fmt.Sprintf("outputs?.artifacts?.[%s]", exprString(paramName(sel.OutputParameterKey)))
			})
			if err != nil {
				return err
			}
			meta, _ := oneOf(sc, convertSelectors(o.ArtifactSelectors), op, func(sel ParameterSelector) (string, string) {
				return sel.ProducerSubtask, fmt.Sprintf("outputs?.parameters?.[%s]", exprString(MetadataParameterPrefix+paramName(sel.OutputParameterKey)))
			})
			tmpl.Outputs.Artifacts = append(tmpl.Outputs.Artifacts, wfv1.Artifact{Name: paramName(name), FromExpression: art, Optional: true})
			tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: MetadataParameterPrefix + paramName(name), ValueFrom: &wfv1.ValueFrom{Expression: meta}})
			continue
		}
		sel := o.ArtifactSelectors[0]
		if sc.virtual[sel.ProducerSubtask] != nil {
			return unsupported(op, "pipeline outputs taken straight from an importer")
		}
		_, _, looped, err := c.artifactChain(sc.path, sc.tasks, sel.ProducerSubtask, sel.OutputArtifactKey)
		if err != nil {
			return pathErrorf(op, "%v", err)
		}
		if !looped {
			// Optional: a producer under a condition may have been skipped; Argo then leaves the output out
			// instead of failing the DAG, and a consumer sees the artifact as not given.
			tmpl.Outputs.Artifacts = append(tmpl.Outputs.Artifacts, wfv1.Artifact{
				Name:     paramName(name),
				From:     fmt.Sprintf("{{tasks.%s.outputs.artifacts.%s}}", fieldName(sel.ProducerSubtask), paramName(sel.OutputArtifactKey)),
				Optional: true,
			})
		}
		// A collected list has no Argo artifact of its own: its metadata documents (aggregated) locate it.
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{
			Name:      MetadataParameterPrefix + paramName(name),
			ValueFrom: &wfv1.ValueFrom{Parameter: fmt.Sprintf("{{tasks.%s.outputs.parameters.%s%s}}", fieldName(sel.ProducerSubtask), MetadataParameterPrefix, paramName(sel.OutputArtifactKey)), Default: wfv1.AnyStringPtr(noneValue)},
		})
	}
	return nil
}

// oneOf builds the expression for a dsl.OneOf output: the output of the first branch task that succeeded. It
// tests each task's status rather than the presence of its output, so it works whether Argo reports outputs
// of skipped tasks as empty strings (before 3.7.16 / 4.0.7) or as absent (since).
func oneOf(sc scope, sels []ParameterSelector, op string, field func(ParameterSelector) (task, path string)) (string, error) {
	if len(sels) == 0 {
		return "", pathErrorf(op, "no selectors")
	}
	expr := "nil"
	for i := len(sels) - 1; i >= 0; i-- {
		task, path := field(sels[i])
		if sc.virtual[task] != nil {
			return "", unsupported(op, "dsl.OneOf over importer outputs")
		}
		ref := fmt.Sprintf("tasks[%s]", exprString(fieldName(task)))
		expr = fmt.Sprintf("(%s?.status == 'Succeeded' ? %s?.%s : %s)", ref, ref, path, expr)
	}
	return expr, nil
}

// templateInput declares a component input on a template: its IR default, or the "not given" marker for an
// optional input without one, so that tasks which do not give it still satisfy Argo.
func templateInput(name string, def *ParameterSpec) (wfv1.Parameter, error) {
	p := wfv1.Parameter{Name: paramName(name)}
	switch {
	case def.DefaultValue != nil:
		text, err := canonicalValue(def.ParameterType, def.DefaultValue)
		if err != nil {
			return p, err
		}
		p.Default = wfv1.AnyStringPtr(inert(text))
	case def.IsOptional:
		p.Default = wfv1.AnyStringPtr(noneValue)
	}
	return p, nil
}

func convertSelectors(in []ArtifactSelector) []ParameterSelector {
	out := make([]ParameterSelector, len(in))
	for i, s := range in {
		out[i] = ParameterSelector{ProducerSubtask: s.ProducerSubtask, OutputParameterKey: s.OutputArtifactKey}
	}
	return out
}

func digestOf(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, _ := json.Marshal(p)
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
