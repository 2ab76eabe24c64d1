package experiments

// Label and annotation keys that only records and run tracking use. Keys the compiler writes on every
// Workflow (managed-by, pipeline, pipeline name, IR digest, task names, parameters) are translate's
// constants (translate.LabelManagedBy, ...): one definition, so Workflows and records cannot drift apart.
// translate must not import this package (DESIGN.md, "Data flow"), so the dependency points this way.
const (
	// LabelKind tells experiment records from run records.
	LabelKind = "kfp-argo.io/kind"
	// LabelExperiment holds the sanitized experiment name (see LabelValue); the real name is in the
	// record data and in AnnotationExperiment.
	LabelExperiment = "kfp-argo.io/experiment"
	// LabelRun holds the run name, which is also the Workflow's name.
	LabelRun = "kfp-argo.io/run"
	// LabelState holds a run's State so that lists can filter on it server-side.
	LabelState = "kfp-argo.io/state"
	// LabelStorageState holds AVAILABLE or ARCHIVED.
	LabelStorageState = "kfp-argo.io/storage-state"

	// LabelPipelineVersion holds the sanitized pipeline version name on a pipeline version's WorkflowTemplate,
	// on the runs of it and on their records; the real name is in AnnotationPipelineVersion.
	LabelPipelineVersion = "kfp-argo.io/pipeline-version"
	// LabelRecurringRun holds the sanitized name of the recurring run (CronWorkflow) that started a run, on
	// the Workflow and on its record; the real name is in AnnotationRecurringRun.
	LabelRecurringRun = "kfp-argo.io/recurring-run"

	// KindExperiment and KindRun are the values of LabelKind.
	KindExperiment = "experiment"
	KindRun        = "run"

	// AnnotationExperiment is the experiment's real (unsanitized) name.
	AnnotationExperiment = "kfp-argo.io/experiment"
	// AnnotationPipelineVersion is the real name of the pipeline version a run ran.
	AnnotationPipelineVersion = "kfp-argo.io/pipeline-version"
	// AnnotationRecurringRun is the real name of the recurring run that started a run.
	AnnotationRecurringRun = "kfp-argo.io/recurring-run"
	// AnnotationRunDisplayName is optional; without it a run's display name is its name.
	AnnotationRunDisplayName = "kfp-argo.io/run-display-name"
	// AnnotationRetryCount is set by `run retry` on the Workflow it retries (1, 2, ...). It is the only
	// thing that lets a terminal run record become RUNNING again: without it an old status seen late
	// could not be told from a real retry.
	AnnotationRetryCount = "kfp-argo.io/retry-count"

	// AnnotationRecordEncoding is set on record ConfigMaps so that kubectl users see how the payload
	// is stored (EncodingJSON, ...), without decoding it.
	AnnotationRecordEncoding = "kfp-argo.io/record-encoding"

	// DefaultExperiment is the experiment runs go to when none is named. It is created on first use
	// in each namespace and cannot be deleted.
	DefaultExperiment = "Default"
)
