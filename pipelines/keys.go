// Package pipelines keeps uploaded pipelines and their versions as Argo WorkflowTemplates, and recurring runs
// as Argo CronWorkflows that reference them (docs/records.md, "Pipelines, versions and recurring runs"). As
// experiments.Store does for records, Store works through typed clients, queries by label and checks the real
// names kept in annotations.
package pipelines

// Keys on WorkflowTemplates (pipeline versions) and CronWorkflows (recurring runs). The pipeline and version
// labels and annotations are the ones run records read (translate.LabelPipeline, experiments.LabelPipelineVersion,
// ...), so a run started from either carries them.
const (
	// AnnotationVersionDescription is the --description of an upload.
	AnnotationVersionDescription = "kfp-argo.io/version-description"
	// AnnotationSourceFile and AnnotationSourceBytes describe the uploaded file: its base name and size.
	AnnotationSourceFile  = "kfp-argo.io/source-file"
	AnnotationSourceBytes = "kfp-argo.io/source-bytes"
	// AnnotationUploadedAt orders versions (RFC 3339 with nanoseconds): the newest is the pipeline's latest.
	AnnotationUploadedAt = "kfp-argo.io/uploaded-at"
	// AnnotationPipelineSpec holds the uploaded file, gzip-compressed and base64-encoded: submit and
	// recurring-run create check the parameters a run is given against it (types, allowed values, names)
	// with the compiler itself, before anything is created.
	AnnotationPipelineSpec = "kfp-argo.io/pipeline-spec"

	// LabelVersionPolicy is on recurring runs: PolicyLatest (follows new uploads) or PolicyPinned.
	LabelVersionPolicy = "kfp-argo.io/version-policy"
	PolicyLatest       = "latest"
	PolicyPinned       = "pinned"
	// AnnotationRecurringParameters holds the parameters a recurring run was given (JSON, as given), so that
	// they can be checked again against each new latest version.
	AnnotationRecurringParameters = "kfp-argo.io/recurring-parameters"
	// AnnotationSchedule holds how the schedule was asked for (--cron, --every, --start, --end,
	// --max-concurrency, --no-catchup), as JSON: what `recurring-run get` shows.
	AnnotationSchedule = "kfp-argo.io/schedule"
	// AnnotationDescription is a recurring run's --description.
	AnnotationDescription = "kfp-argo.io/description"

	// LatestVersion is the version reference that means the newest upload.
	LatestVersion = "latest"
)

// ErrNotFound, ErrAlreadyExists and ErrInvalid are matched with errors.Is; the API server's error, when there
// is one, is wrapped too.
const (
	ErrNotFound      = sentinel("not found")
	ErrAlreadyExists = sentinel("already exists")
	ErrInvalid       = sentinel("invalid")
	// ErrInUse: a pipeline version that a recurring run references cannot be deleted.
	ErrInUse = sentinel("in use")
)

// sentinel errors are constants, so no caller can reassign them.
type sentinel string

func (s sentinel) Error() string { return string(s) }
