package experiments

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// State is a run or task state, named as in the KFP v2 API (RuntimeState) so records read the same as
// KFP's, plus StateWorkflowDeleted.
type State string

const (
	StatePending   State = "PENDING"
	StateRunning   State = "RUNNING"
	StateSucceeded State = "SUCCEEDED"
	StateSkipped   State = "SKIPPED"
	StateFailed    State = "FAILED"
	StateCanceling State = "CANCELING"
	StateCanceled  State = "CANCELED"
	StatePaused    State = "PAUSED"
	// StateWorkflowDeleted is terminal: the Workflow disappeared before its final state was
	// recorded. KFP has no such state; without it such a record would stay RUNNING forever.
	StateWorkflowDeleted State = "WORKFLOW_DELETED"
)

// States lists every State in display order.
func States() []State {
	return []State{StatePending, StateRunning, StatePaused, StateCanceling, StateSucceeded, StateSkipped,
		StateFailed, StateCanceled, StateWorkflowDeleted}
}

// Terminal reports whether nothing but an explicit retry can move a run out of s.
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StateSkipped, StateFailed, StateCanceled, StateWorkflowDeleted:
		return true
	}
	return false
}

// Valid reports whether s is one of States().
func (s State) Valid() bool { return slices.Contains(States(), s) }

// ParseState accepts a state name in any case ("failed", "FAILED").
func ParseState(s string) (State, error) {
	st := State(strings.ToUpper(strings.TrimSpace(s)))
	if !st.Valid() {
		names := make([]string, 0, len(States()))
		for _, v := range States() {
			names = append(names, string(v))
		}
		return "", fmt.Errorf("unknown state %q (one of %s)", s, strings.Join(names, ", "))
	}
	return st, nil
}

// StorageState is whether a record is shown by default (AVAILABLE) or only on request (ARCHIVED).
type StorageState string

const (
	StorageAvailable StorageState = "AVAILABLE"
	StorageArchived  StorageState = "ARCHIVED"
)

// Experiment groups runs so they can be compared.
type Experiment struct {
	// Name identifies the experiment in its namespace; any non-empty text (it is sanitized wherever
	// Kubernetes needs a name or a label value).
	Name         string       `json:"name"`
	DisplayName  string       `json:"displayName,omitempty"`
	Description  string       `json:"description,omitempty"`
	CreatedAt    time.Time    `json:"createdAt,omitzero"`
	StorageState StorageState `json:"storageState"`
	LastRunAt    time.Time    `json:"lastRunAt,omitzero"`
}

func (*Experiment) recordKind() string { return KindExperiment }

// WorkflowRef names the Workflow a run executes as. The UID tells a Workflow apart from a later one
// submitted under the same name.
type WorkflowRef struct {
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

// StateChange is one entry of a run's state history.
type StateChange struct {
	State  State     `json:"state"`
	Time   time.Time `json:"time,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// TaskSource says where a run's task rows came from, so that "no rows" is never mistaken for "no tasks".
type TaskSource string

const (
	// TaskSourceNone: the Workflow has not reported any node yet.
	TaskSourceNone TaskSource = ""
	// TaskSourceNodes: rows come from status.nodes.
	TaskSourceNodes TaskSource = "nodes"
	// TaskSourceCompressedNodes: rows come from status.compressedNodes (the Workflow was too large
	// for Argo to store its nodes uncompressed).
	TaskSourceCompressedNodes TaskSource = "compressedNodes"
	// TaskSourceOffloaded: Argo offloaded the node status to its database, which kfp-argo does not
	// read; rows, if any, are the last ones seen before offloading.
	TaskSourceOffloaded TaskSource = "offloaded"
	// TaskSourceUnreadable: the node status could not be decoded; Run.Warnings says why.
	TaskSourceUnreadable TaskSource = "unreadable"
)

// Task is one row of a run: an IR task (or one loop iteration of it, or an exit hook) as Argo ran it.
type Task struct {
	// ID is the Argo node ID; for a retried task the Retry node's, whose attempts the row folds.
	ID string `json:"id"`
	// Parent is the ID of the enclosing row (a sub-DAG, a loop, an iteration), empty at the top.
	Parent string `json:"parent,omitempty"`
	// Name is the IR task name (the Argo task name when the Workflow carries no mapping).
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// Iteration holds the loop indexes of this row and its enclosing loops, outermost first.
	Iteration []int `json:"iteration,omitempty"`
	// Type is the Argo node type of the work done (for a retried task, that of its attempts).
	Type     string    `json:"type,omitempty"`
	State    State     `json:"state"`
	Cached   bool      `json:"cached,omitempty"`
	ExitHook bool      `json:"exitHook,omitempty"`
	Started  time.Time `json:"startedAt,omitzero"`
	Finished time.Time `json:"finishedAt,omitzero"`
	Pod      string    `json:"pod,omitempty"`
	// Attempts counts executions: 1 for a task that ran once, 0 for one that never ran; retries are
	// Attempts-1.
	Attempts int    `json:"attempts,omitempty"`
	Error    string `json:"error,omitempty"`
	// Waiting says why a PENDING task has not started: its node's message (`Unschedulable: 0/1 nodes are
	// available...`, `ImagePullBackOff`, ...).
	Waiting string            `json:"waiting,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
}

// Run is one execution of a pipeline.
type Run struct {
	// Name identifies the run; it is also the name of its Workflow.
	Name           string `json:"name"`
	DisplayName    string `json:"displayName,omitempty"`
	Experiment     string `json:"experiment"`
	PipelineName   string `json:"pipelineName,omitempty"`
	PipelineDigest string `json:"pipelineDigest,omitempty"`
	// PipelineVersion is the uploaded pipeline version the run ran (schema version 3), empty for a run of a
	// pipeline file.
	PipelineVersion string `json:"pipelineVersion,omitempty"`
	// RecurringRun is the recurring run that started the run (schema version 3).
	RecurringRun string            `json:"recurringRun,omitempty"`
	Parameters   map[string]string `json:"parameters,omitempty"`
	Workflow     WorkflowRef       `json:"workflow"`
	State        State             `json:"state"`
	// History only grows; its last entry's State is State.
	History []StateChange `json:"history,omitempty"`
	// RetryCount is the AnnotationRetryCount last seen; a larger one reopens a terminal run.
	RetryCount int        `json:"retryCount,omitempty"`
	CreatedAt  time.Time  `json:"createdAt,omitzero"`
	StartedAt  time.Time  `json:"startedAt,omitzero"`
	FinishedAt time.Time  `json:"finishedAt,omitzero"`
	Error      string     `json:"error,omitempty"`
	TaskSource TaskSource `json:"taskSource,omitempty"`
	Tasks      []Task     `json:"tasks,omitempty"`
	// Metrics are named "<task>.<key>" (docs/records.md, "Metrics").
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	Warnings     []string           `json:"warnings,omitempty"`
	StorageState StorageState       `json:"storageState"`

	// Encoding is how the record was stored, filled by Decode and by Store writes; it is not part of
	// the payload itself (the payload's envelope says it).
	Encoding Encoding `json:"-"`
}

func (*Run) recordKind() string { return KindRun }

// DeepCopy returns a copy sharing no maps or slices with r.
func (r *Run) DeepCopy() *Run {
	if r == nil {
		return nil
	}
	out := *r
	out.Parameters = maps.Clone(r.Parameters)
	out.History = slices.Clone(r.History)
	out.Metrics = maps.Clone(r.Metrics)
	out.Warnings = slices.Clone(r.Warnings)
	if r.Tasks != nil {
		out.Tasks = make([]Task, len(r.Tasks))
		for i, t := range r.Tasks {
			t.Iteration = slices.Clone(t.Iteration)
			t.Outputs = maps.Clone(t.Outputs)
			out.Tasks[i] = t
		}
	}
	return &out
}

// TaskCounts counts task rows by state, also the rows a record too large for a ConfigMap left out.
func (r *Run) TaskCounts() map[State]int {
	if r.Encoding.DroppedTasks > 0 && r.Encoding.TaskCounts != nil {
		return maps.Clone(r.Encoding.TaskCounts)
	}
	counts := map[State]int{}
	for _, t := range r.Tasks {
		counts[t.State]++
	}
	return counts
}

// Progress summarizes the task rows for people: "offloaded" when Argo's node status is not readable,
// never "0 tasks" for a run whose tasks are merely unknown.
func (r *Run) Progress() string {
	switch r.TaskSource {
	case TaskSourceOffloaded:
		if len(r.Tasks) > 0 {
			return fmt.Sprintf("offloaded (last seen %d tasks)", len(r.Tasks))
		}
		return "offloaded"
	case TaskSourceUnreadable:
		return "unreadable"
	case TaskSourceNone:
		return "no tasks yet"
	}
	counts := r.TaskCounts()
	total := 0
	parts := make([]string, 0, len(counts))
	for _, s := range States() {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
			total += n
		}
	}
	if r.Encoding.DroppedTasks == 0 || r.Encoding.TaskCounts == nil {
		total = len(r.Tasks)
	}
	noun := "tasks"
	if total == 1 {
		noun = "task"
	}
	kept := ""
	if total != len(r.Tasks) {
		kept = fmt.Sprintf(" (%d rows kept: record size limit)", len(r.Tasks))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d %s%s", total, noun, kept)
	}
	return fmt.Sprintf("%d %s: %s%s", total, noun, strings.Join(parts, ", "), kept)
}

// MetricNames returns the metric names of runs, sorted, for side-by-side comparison.
func MetricNames(runs []Run) []string {
	seen := map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			seen[k] = true
		}
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
