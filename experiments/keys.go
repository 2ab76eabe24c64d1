package experiments

// Label and annotation keys shared with the compiler. The translate package writes the same string values
// on every Workflow it emits; they are repeated there rather than imported because translate must not
// depend on this package (DESIGN.md, "Data flow").
const (
	// LabelManagedBy marks every object kfp-argo owns, Workflows and record ConfigMaps alike.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "kfp-argo"

	// LabelKind tells experiment records from run records.
	LabelKind = "kfp-argo.io/kind"
	// LabelExperiment holds the sanitized experiment name (see LabelValue); the real name is in the
	// record data and in AnnotationExperiment.
	LabelExperiment = "kfp-argo.io/experiment"
	// LabelPipeline holds the sanitized pipeline name.
	LabelPipeline = "kfp-argo.io/pipeline"
	// LabelRun holds the run name, which is also the Workflow's name.
	LabelRun = "kfp-argo.io/run"
	// LabelState holds a run's State so that lists can filter on it server-side.
	LabelState = "kfp-argo.io/state"
	// LabelStorageState holds AVAILABLE or ARCHIVED.
	LabelStorageState = "kfp-argo.io/storage-state"

	// KindExperiment and KindRun are the values of LabelKind.
	KindExperiment = "experiment"
	KindRun        = "run"

	// AnnotationTaskNames maps Argo DAG task names back to IR tasks: a JSON object
	// {"<argo dag task name>": {"task": "<IR task name>", "displayName": "<display name>"}}.
	AnnotationTaskNames = "kfp-argo.io/task-names"
	// AnnotationPipelineName is the pipeline's real (unsanitized) name.
	AnnotationPipelineName = "kfp-argo.io/pipeline-name"
	// AnnotationIRDigest is "sha256:<hex>" of the pipeline IR the Workflow was compiled from.
	AnnotationIRDigest = "kfp-argo.io/ir-digest"
	// AnnotationExperiment is the experiment's real (unsanitized) name.
	AnnotationExperiment = "kfp-argo.io/experiment"
	// AnnotationParameters is a JSON object of run parameter name to its canonical string value.
	AnnotationParameters = "kfp-argo.io/parameters"
	// AnnotationRunDisplayName is optional; without it a run's display name is its name.
	AnnotationRunDisplayName = "kfp-argo.io/run-display-name"
	// AnnotationRetryCount is set by `run retry` on the Workflow it retries (1, 2, ...). It is the only
	// thing that lets a terminal run record become RUNNING again: without it an old status seen late
	// could not be told from a real retry.
	AnnotationRetryCount = "kfp-argo.io/retry-count"

	// AnnotationRecordEncoding is set on record ConfigMaps so that kubectl users see how the payload
	// is stored (EncodingJSON, ...), without decoding it.
	AnnotationRecordEncoding = "kfp-argo.io/record-encoding"

	// MetadataOutputParameter is the Argo output parameter in which the runtime wrapper of lightweight
	// Python components puts the metadata of output artifacts (Metrics and the like) as JSON
	// {"<artifact>": {"schemaTitle": "system.Metrics", "metadata": {...}}}.
	MetadataOutputParameter = "kfp-argo-metadata"

	// DefaultExperiment is the experiment runs go to when none is named. It is created on first use
	// in each namespace and cannot be deleted.
	DefaultExperiment = "Default"
)
