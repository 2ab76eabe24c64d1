package experiments

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/translate"
)

// Argo's own strings that mapping depends on. They are copied, not imported, because the packages that
// define them pull in the whole controller.
const (
	argoPodNameFormatAnnotation = "workflows.argoproj.io/pod-name-format"
	argoShutdownNodeMessage     = "workflow shutdown with strategy"
	argoStoppedMessage          = "Stopped with strategy"
	// argoMaxPodNamePrefix is Argo's maxK8sResourceNameLength - k8sNamingHashLength.
	argoMaxPodNamePrefix = 253 - 10
)

// maxDecompressedNodes caps status.compressedNodes once decompressed; Argo itself never stores a Workflow
// over a few MiB, so anything larger is not a real status.
const maxDecompressedNodes = 256 << 20

// TaskName is one entry of translate.AnnotationTaskNames.
type TaskName struct {
	Task        string `json:"task"`
	DisplayName string `json:"displayName,omitempty"`
}

// MapWorkflow computes a run record from wf and the previous record (nil when there is none). It is pure:
// now is used only for state changes the Workflow carries no time for (CANCELING, PAUSED, ...).
//
// The result never moves backwards: once prev is terminal, its state and history stay, unless
// AnnotationRetryCount on wf is larger than prev.RetryCount (an explicit `run retry`). A Workflow with
// another UID than the one prev recorded is a different execution under the same name and leaves prev
// unchanged.
func MapWorkflow(wf *wfv1.Workflow, prev *Run, now time.Time) Run {
	now = now.UTC()
	var run Run
	if prev != nil {
		run = *prev.DeepCopy()
		if !SameExecution(&run, wf) {
			return run
		}
		// A retry resubmits the Workflow under the same name (argo.NewAttempt): the record follows it.
		run.Workflow.UID = string(wf.UID)
	}
	warnings := fillIdentity(&run, wf)

	state, reason := workflowState(wf)
	retries, retryWarning := retryCount(wf)
	if retryWarning != "" {
		warnings = append(warnings, retryWarning)
	}
	reopen := false
	if retries > run.RetryCount {
		finishedAgain := state.Terminal() && wf.Status.FinishedAt.UTC().After(run.FinishedAt)
		if !run.State.Terminal() || !state.Terminal() || finishedAgain {
			reopen = run.State.Terminal()
			run.RetryCount = retries
		}
	}
	if prev != nil && !reopen && stateRank(state) < stateRank(run.State) {
		// A status older than the record (an informer cache catching up with what a CLI read already
		// recorded): nothing goes back to PENDING, from CANCELING to RUNNING, or out of a terminal state.
		return *prev.DeepCopy()
	}
	if reopen && state == StatePending {
		// The retried Workflow is not picked up yet; the run is running again (history: RUNNING "retry N"),
		// and PENDING never follows another state.
		state = StateRunning
	}
	frozen := run.State.Terminal() && !reopen
	if frozen && state != run.State {
		// An old status, or one from a retry kfp-argo did not make, seen after the final one: the record
		// already holds the truth, and rows from another outcome would contradict it.
		return run
	}

	run.Warnings = nil
	nodes, source, warning := readNodes(wf)
	if warning != "" {
		warnings = append(warnings, warning)
	}
	run.TaskSource = source
	if source != TaskSourceOffloaded && source != TaskSourceUnreadable {
		names, warning := parseTaskNames(wf)
		if warning != "" {
			warnings = append(warnings, warning)
		}
		var taskWarnings []string
		run.Tasks, run.Metrics, taskWarnings = mapNodes(wf, nodes, names)
		warnings = append(warnings, taskWarnings...)
	}
	if prev != nil && !reopen && tasksWentBack(prev.Tasks, run.Tasks) {
		// The run's state alone cannot tell an older status at the same level (RUNNING, then RUNNING with
		// fewer tasks done): a task that finished in the record and is unfinished or absent here can.
		return *prev.DeepCopy()
	}
	if !wf.Status.StartedAt.IsZero() {
		run.StartedAt = wf.Status.StartedAt.UTC()
	}
	run.Warnings = warnings

	if frozen {
		// The same terminal state before and now: Argo's last updates may still fill in rows and
		// metrics, but the state and its history are settled.
		return run
	}
	if reopen {
		run.FinishedAt = time.Time{}
		run.Error = ""
		run.History = append(run.History, StateChange{State: StateRunning, Time: now,
			Reason: fmt.Sprintf("retry %d", run.RetryCount)})
		run.State = StateRunning
	}
	errMsg := ""
	if state == StateFailed || state == StateCanceled {
		errMsg = runError(wf, run.Tasks)
		reason = errMsg
	}
	transition(&run, wf, state, reason, now)
	if state.Terminal() {
		if !wf.Status.FinishedAt.IsZero() {
			run.FinishedAt = wf.Status.FinishedAt.UTC()
		} else if run.FinishedAt.IsZero() {
			run.FinishedAt = now
		}
	}
	run.Error = errMsg
	return run
}

// stateRank orders run states by how far a run has come; within one execution a run never moves to a lower
// rank. RUNNING and PAUSED share a rank: a run can be suspended and resumed.
func stateRank(s State) int {
	switch {
	case s == StatePending:
		return 0
	case s == StateRunning, s == StatePaused:
		return 1
	case s == StateCanceling:
		return 2
	case s.Terminal():
		return 3
	}
	return 1 // an unknown state: as RUNNING, which unknown Argo phases map to
}

// tasksWentBack reports whether next, the rows of one execution, are older than prev: a row that was
// terminal in prev is missing or not terminal in next. Argo never moves a node out of a final phase
// within one execution (retries are new nodes under the Retry node, whose row is not final before them).
func tasksWentBack(prev, next []Task) bool {
	if len(prev) == 0 {
		return false
	}
	byID := make(map[string]State, len(next))
	for _, t := range next {
		byID[t.ID] = t.State
	}
	for _, t := range prev {
		if !t.State.Terminal() {
			continue
		}
		if st, ok := byID[t.ID]; !ok || !st.Terminal() {
			return true
		}
	}
	return false
}

// SameExecution reports whether wf is the Workflow run records, or its successor: a Workflow of another UID
// under the run's name is a different execution unless it carries a larger AnnotationRetryCount than the
// record, which only `run retry` writes when it resubmits the run.
func SameExecution(run *Run, wf *wfv1.Workflow) bool {
	if run.Workflow.UID == "" || wf.UID == "" || string(wf.UID) == run.Workflow.UID {
		return true
	}
	n, _ := retryCount(wf)
	return n > run.RetryCount
}

// MarkWorkflowDeleted records that a run's Workflow is gone before its final state was seen. A terminal
// run is returned unchanged; otherwise the run and its unfinished tasks become StateWorkflowDeleted,
// so nothing claims to be running that no longer exists.
func MarkWorkflowDeleted(prev Run, reason string, now time.Time) Run {
	run := *prev.DeepCopy()
	if run.State.Terminal() {
		return run
	}
	now = now.UTC()
	if reason == "" {
		reason = "workflow deleted before its final state was recorded"
	}
	run.State = StateWorkflowDeleted
	run.History = append(run.History, StateChange{State: StateWorkflowDeleted, Time: now, Reason: reason})
	run.FinishedAt = now
	run.Error = reason
	for i := range run.Tasks {
		if !run.Tasks[i].State.Terminal() {
			run.Tasks[i].State = StateWorkflowDeleted
		}
	}
	return run
}

// fillIdentity sets the fields a run takes from its Workflow's metadata, keeping those already set: the
// record written at submit time is the better source, the Workflow is the fallback that lets sync
// rebuild a lost record.
func fillIdentity(run *Run, wf *wfv1.Workflow) []string {
	var warnings []string
	ann := wf.Annotations
	setIfEmpty := func(dst *string, vals ...string) {
		for _, v := range vals {
			if *dst == "" && v != "" {
				*dst = v
			}
		}
	}
	setIfEmpty(&run.Name, wf.Name)
	setIfEmpty(&run.DisplayName, ann[AnnotationRunDisplayName], wf.Name)
	setIfEmpty(&run.Experiment, ann[AnnotationExperiment], wf.Labels[LabelExperiment], DefaultExperiment)
	setIfEmpty(&run.PipelineName, ann[translate.AnnotationPipelineName], wf.Labels[translate.LabelPipeline])
	setIfEmpty(&run.PipelineDigest, ann[translate.AnnotationIRDigest])
	setIfEmpty(&run.PipelineVersion, ann[AnnotationPipelineVersion], wf.Labels[LabelPipelineVersion])
	setIfEmpty(&run.RecurringRun, ann[AnnotationRecurringRun], wf.Labels[LabelRecurringRun])
	setIfEmpty(&run.Workflow.Name, wf.Name)
	setIfEmpty(&run.Workflow.UID, string(wf.UID))
	if run.StorageState == "" {
		run.StorageState = StorageAvailable
	}
	if run.CreatedAt.IsZero() && !wf.CreationTimestamp.IsZero() {
		run.CreatedAt = wf.CreationTimestamp.UTC()
	}
	if run.Parameters == nil {
		if raw, ok := ann[translate.AnnotationParameters]; ok {
			params := map[string]string{}
			if err := json.Unmarshal([]byte(raw), &params); err != nil {
				warnings = append(warnings, fmt.Sprintf("annotation %s: %v", translate.AnnotationParameters, err))
			} else if len(params) > 0 {
				run.Parameters = params
			}
		}
	}
	if run.Parameters == nil && len(wf.Spec.Arguments.Parameters) > 0 {
		run.Parameters = map[string]string{}
		for _, p := range wf.Spec.Arguments.Parameters {
			if p.Value == nil || translate.IsRuntimeParameter(p.Name) {
				continue
			}
			// Compiled values containing "{{" are inert-encoded; the record keeps what the user gave.
			if v, given := translate.DecodeValue(p.Value.String()); given {
				run.Parameters[p.Name] = v
			}
		}
	}
	return warnings
}

// workflowState maps the Workflow's phase and spec to a run state and the reason to record with it.
func workflowState(wf *wfv1.Workflow) (State, string) {
	shutdown := wf.Spec.Shutdown
	suspended := wf.Spec.Suspend != nil && *wf.Spec.Suspend
	switch wf.Status.Phase {
	case wfv1.WorkflowSucceeded:
		return StateSucceeded, ""
	case wfv1.WorkflowFailed, wfv1.WorkflowError:
		if shutdown != wfv1.ShutdownStrategyNone {
			return StateCanceled, wf.Status.Message
		}
		return StateFailed, wf.Status.Message
	}
	switch {
	case shutdown != wfv1.ShutdownStrategyNone:
		return StateCanceling, fmt.Sprintf("spec.shutdown: %s", shutdown)
	case suspended:
		return StatePaused, "spec.suspend"
	case wf.Status.Phase == wfv1.WorkflowRunning:
		return StateRunning, ""
	case wf.Status.Phase == wfv1.WorkflowPending || wf.Status.Phase == wfv1.WorkflowUnknown:
		return StatePending, ""
	}
	// A phase this Argo version does not have: say so rather than guess.
	return StateRunning, fmt.Sprintf("unknown workflow phase %q", wf.Status.Phase)
}

// transition appends to the history when the state changes, adding the RUNNING step that a late first
// look (a record rebuilt from a finished Workflow) would otherwise leave out.
func transition(run *Run, wf *wfv1.Workflow, state State, reason string, now time.Time) {
	timeOr := func(t time.Time) time.Time {
		if t.IsZero() {
			return now
		}
		return t.UTC()
	}
	if len(run.History) == 0 {
		run.History = append(run.History, StateChange{State: StatePending, Time: timeOr(wf.CreationTimestamp.Time)})
	}
	last := run.History[len(run.History)-1].State
	started := wf.Status.StartedAt.Time
	if state != last && last == StatePending && state != StateRunning && !started.IsZero() &&
		(state.Terminal() || state == StateCanceling || state == StatePaused) {
		run.History = append(run.History, StateChange{State: StateRunning, Time: started.UTC()})
		last = StateRunning
	}
	if state != last {
		at := now
		switch {
		case state == StateRunning && last == StatePending:
			at = timeOr(started)
		case state.Terminal():
			at = timeOr(wf.Status.FinishedAt.Time)
		}
		run.History = append(run.History, StateChange{State: state, Time: at, Reason: reason})
	}
	run.State = state
}

func retryCount(wf *wfv1.Workflow) (int, string) {
	raw, ok := wf.Annotations[AnnotationRetryCount]
	if !ok {
		return 0, ""
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < 0 {
		return 0, fmt.Sprintf("annotation %s: %q is not a retry count", AnnotationRetryCount, raw)
	}
	return n, ""
}

// readNodes returns the Workflow's nodes wherever Argo keeps them.
func readNodes(wf *wfv1.Workflow) (wfv1.Nodes, TaskSource, string) {
	st := wf.Status
	switch {
	case len(st.Nodes) > 0:
		return st.Nodes, TaskSourceNodes, ""
	case st.CompressedNodes != "":
		nodes, err := decompressNodes(st.CompressedNodes)
		if err != nil {
			return nil, TaskSourceUnreadable, fmt.Sprintf("status.compressedNodes: %v", err)
		}
		return nodes, TaskSourceCompressedNodes, ""
	case st.OffloadNodeStatusVersion != "":
		return nil, TaskSourceOffloaded, ""
	case st.Phase == wfv1.WorkflowUnknown:
		return nil, TaskSourceNone, ""
	}
	return nil, TaskSourceNodes, ""
}

// decompressNodes reads status.compressedNodes: base64 of gzip of the JSON of the nodes map.
func decompressNodes(s string) (wfv1.Nodes, error) {
	gz, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxDecompressedNodes+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if len(raw) > maxDecompressedNodes {
		return nil, fmt.Errorf("more than %d bytes decompressed", maxDecompressedNodes)
	}
	var nodes wfv1.Nodes
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, fmt.Errorf("nodes JSON: %w", err)
	}
	return nodes, nil
}

func parseTaskNames(wf *wfv1.Workflow) (map[string]translate.TaskRef, string) {
	raw, ok := wf.Annotations[translate.AnnotationTaskNames]
	if !ok {
		return nil, ""
	}
	names, err := translate.DecodeTaskNames(raw)
	if err != nil {
		return nil, fmt.Sprintf("annotation %s: %v", translate.AnnotationTaskNames, err)
	}
	return names, ""
}

// nodeRow is a task row under construction, with what sorting and folding need.
type nodeRow struct {
	task      Task
	node      *wfv1.NodeStatus
	iteration int               // own loop index, -1 when not an iteration
	metadata  map[string]string // Argo artifact name -> its metadata document (translate.MetadataParameterPrefix)
}

// mapNodes turns Argo nodes into task rows and metrics. The root node and step groups are structure, not
// tasks; the attempts of a Retry node fold into the Retry node's row.
func mapNodes(wf *wfv1.Workflow, nodes wfv1.Nodes, names map[string]translate.TaskRef) ([]Task, map[string]float64, []string) {
	if len(nodes) == 0 {
		return nil, nil, nil
	}
	// Parts of a large DAG (translate.AnnotationDAGParts) are structure: their tasks belong to the DAG they
	// were cut from.
	dags := readDAGKinds(wf)
	parts := dags.parts
	attempts := map[string][]*wfv1.NodeStatus{} // Retry node ID -> its attempts in order
	attemptOf := map[string]string{}            // attempt node ID -> Retry node ID
	groupOf := map[string]string{}              // iteration node ID -> loop (TaskGroup) node ID
	for id := range nodes {
		n := nodes[id]
		switch n.Type {
		case wfv1.NodeTypeRetry:
			for _, c := range n.Children {
				child, ok := nodes[c]
				if !ok || !isAttempt(n.Name, child.Name) {
					continue
				}
				attemptOf[c] = n.ID
				attempts[n.ID] = append(attempts[n.ID], &child)
			}
			sort.Slice(attempts[n.ID], func(i, j int) bool {
				return attemptNumber(n.Name, attempts[n.ID][i].Name) < attemptNumber(n.Name, attempts[n.ID][j].Name)
			})
		case wfv1.NodeTypeTaskGroup:
			for _, c := range n.Children {
				groupOf[c] = n.ID
			}
		}
	}
	// rowID is the row that stands for node id: attempts are represented by their Retry node, step
	// groups and the root by their enclosing row.
	var rowID func(id string, depth int) string
	rowID = func(id string, depth int) string {
		n, ok := nodes[id]
		if !ok || id == wf.Name || n.Name == wf.Name || depth > 64 {
			return ""
		}
		if r, ok := attemptOf[id]; ok {
			return r
		}
		if n.Type == wfv1.NodeTypeStepGroup || parts[n.TemplateName] {
			return rowID(n.BoundaryID, depth+1)
		}
		return id
	}

	rows := map[string]*nodeRow{}
	for id := range nodes {
		n := nodes[id]
		if (isRoot(wf, &n) && !rootIsTask(&n)) || n.Type == wfv1.NodeTypeStepGroup || parts[n.TemplateName] {
			continue
		}
		if _, ok := attemptOf[id]; ok {
			continue
		}
		rows[id] = newRow(wf, nodes, &n, attempts[id], names, dags)
	}
	for id, r := range rows {
		if g, ok := groupOf[id]; ok {
			r.task.Parent = g
		} else {
			r.task.Parent = rowID(r.node.BoundaryID, 0)
		}
	}
	// Iteration indexes accumulate down the row tree: a task inside the body of loop iteration 2 is
	// iteration [2] even though its own node name has no index.
	var iterations func(id string, depth int) []int
	iterations = func(id string, depth int) []int {
		r, ok := rows[id]
		if !ok || depth > 64 {
			return nil
		}
		out := append([]int(nil), iterations(r.task.Parent, depth+1)...)
		if r.iteration >= 0 {
			out = append(out, r.iteration)
		}
		return out
	}
	// Rows inside an exit hook's DAG are part of the exit handling too.
	var inHook func(id string, depth int) bool
	inHook = func(id string, depth int) bool {
		r, ok := rows[id]
		return ok && depth <= 64 && (r.task.ExitHook || inHook(r.task.Parent, depth+1))
	}
	list := make([]*nodeRow, 0, len(rows))
	for id, r := range rows {
		r.task.Iteration = iterations(id, 0)
		r.task.ExitHook = inHook(id, 0)
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.task.Started.Equal(b.task.Started) {
			if a.task.Started.IsZero() || b.task.Started.IsZero() {
				return b.task.Started.IsZero()
			}
			return a.task.Started.Before(b.task.Started)
		}
		return a.node.Name < b.node.Name
	})

	tasks := make([]Task, len(list))
	var metrics map[string]float64
	var warnings []string
	source := map[string]string{}
	for i, r := range list {
		tasks[i] = r.task
		m, w := rowMetrics(r)
		warnings = append(warnings, w...)
		for _, k := range sortedKeys(m) {
			if other, dup := source[k]; dup && other != r.task.ID {
				warnings = append(warnings, fmt.Sprintf("metric %s reported by more than one task (%s, %s); keeping the later", k, other, r.task.ID))
			}
			source[k] = r.task.ID
			if metrics == nil {
				metrics = map[string]float64{}
			}
			metrics[k] = m[k]
		}
	}
	return tasks, metrics, warnings
}

// isRoot: the node of the Workflow's entrypoint.
func isRoot(wf *wfv1.Workflow, n *wfv1.NodeStatus) bool { return n.ID == wf.Name || n.Name == wf.Name }

// rootIsTask: an entrypoint that runs a pod itself (a plain Argo Workflow of one container, possibly
// retried) is the run's one task; a DAG or steps entrypoint is only the frame of its tasks.
func rootIsTask(n *wfv1.NodeStatus) bool {
	return n.Type == wfv1.NodeTypePod || n.Type == wfv1.NodeTypeRetry
}

func newRow(wf *wfv1.Workflow, nodes wfv1.Nodes, n *wfv1.NodeStatus, tries []*wfv1.NodeStatus, names map[string]translate.TaskRef, dags dagKinds) *nodeRow {
	rel := relativeName(wf, nodes, n)
	if isRoot(wf, n) {
		// Named after its template, as Argo names the pod's step in `argo get`.
		rel = n.TemplateName
		if n.TemplateRef != nil {
			rel = n.TemplateRef.Template
		}
		if rel == "" {
			rel = wf.Name
		}
	}
	hook := (n.NodeFlag != nil && n.NodeFlag.Hooked) || strings.HasSuffix(rel, ".onExit") || rel == "onExit"
	base, iteration := rel, -1
	if !hook {
		base, iteration = splitIteration(rel)
	}
	t := Task{ID: n.ID, Name: base, DisplayName: base, Type: string(n.Type), ExitHook: hook}
	if mapped, ok := lookupTaskName(wf, names, dags, nodes, n, base); ok {
		t.Name = mapped.Task
		t.DisplayName = mapped.Task
		if mapped.DisplayName != "" {
			t.DisplayName = mapped.DisplayName
		}
	} else if n.DisplayName != "" && n.DisplayName != rel && !strings.HasPrefix(n.DisplayName, base+"(") && !isRoot(wf, n) {
		// A display name set by the template (workflows.argoproj.io/display-name).
		t.DisplayName = n.DisplayName
	}

	work := n // the node that did the work: the last attempt of a retried task
	if len(tries) > 0 {
		work = tries[len(tries)-1]
		t.Type = string(work.Type)
	}
	t.State = nodeState(n)
	if !n.StartedAt.IsZero() {
		t.Started = n.StartedAt.UTC()
	}
	if !n.FinishedAt.IsZero() {
		t.Finished = n.FinishedAt.UTC()
	}
	t.Cached = n.MemoizationStatus != nil && n.MemoizationStatus.Hit
	switch {
	case len(tries) > 0:
		t.Attempts = len(tries)
	case n.Phase == wfv1.NodeSkipped || n.Phase == wfv1.NodeOmitted || t.Cached:
		t.Attempts = 0
	default:
		t.Attempts = 1
	}
	if work.Type == wfv1.NodeTypePod {
		t.Pod = podName(wf, work)
	}
	if t.State == StatePending {
		t.Waiting = work.Message
	}
	if t.State == StateFailed || t.State == StateCanceled {
		// The last attempt says why it failed; a Retry node only says that retries ran out.
		t.Error = work.Message
		if t.Error == "" {
			t.Error = n.Message
		}
	}
	outputs := n.Outputs
	if (outputs == nil || len(outputs.Parameters) == 0) && work != n {
		outputs = work.Outputs
	}
	var meta map[string]string
	if outputs != nil {
		for _, p := range outputs.Parameters {
			if p.Value == nil {
				continue
			}
			// Values containing "{{" travel inert (translate's encoding); records show what the task wrote.
			v, given := translate.DecodeValue(p.Value.String())
			if !given {
				continue
			}
			if art, ok := strings.CutPrefix(p.Name, translate.MetadataParameterPrefix); ok {
				if meta == nil {
					meta = map[string]string{}
				}
				meta[art] = v
				continue
			}
			if t.Outputs == nil {
				t.Outputs = map[string]string{}
			}
			t.Outputs[p.Name] = v
		}
	}
	return &nodeRow{task: t, node: n, iteration: iteration, metadata: meta}
}

// dagKinds are the DAG templates the compiler made that the record treats apart: parts of a large DAG
// (translate.AnnotationDAGParts) are structure, their tasks belong to the DAG they were cut from; shared DAG
// templates (translate.AnnotationSharedDAGs) stand for several IR sub-DAGs, their tasks are named by path.
type dagKinds struct{ parts, shared map[string]bool }

func readDAGKinds(wf *wfv1.Workflow) dagKinds {
	return dagKinds{
		parts:  translate.TemplateSet(wf.Annotations, translate.AnnotationDAGParts),
		shared: translate.TemplateSet(wf.Annotations, translate.AnnotationSharedDAGs),
	}
}

// enclosing is the DAG node a node with this boundary belongs to, parts left out.
func (k dagKinds) enclosing(nodes wfv1.Nodes, boundaryID string) (wfv1.NodeStatus, bool) {
	b, ok := nodes[boundaryID]
	for ok && k.parts[b.TemplateName] {
		b, ok = nodes[b.BoundaryID]
	}
	return b, ok
}

// lookupTaskName finds a node's entry in AnnotationTaskNames: "<DAG template>/<task>" for tasks of
// sub-pipelines (one task name can occur in several templates), the plain Argo task name in the root DAG, and
// for a task inside a shared DAG template its path from the nearest DAG template that is not shared,
// "<template>/<calling task>/.../<task>" (parts left out, also between a shared template and its tasks). A
// missing entry is not an error: the row keeps the Argo task name.
func lookupTaskName(wf *wfv1.Workflow, names map[string]translate.TaskRef, dags dagKinds, nodes wfv1.Nodes, n *wfv1.NodeStatus, base string) (translate.TaskRef, bool) {
	if owner, ok := dags.enclosing(nodes, n.BoundaryID); ok && dags.shared[owner.TemplateName] {
		path, ok := sharedPath(wf, dags, nodes, &owner, 0)
		if !ok {
			return translate.TaskRef{}, false
		}
		ref, ok := names[path+"/"+base]
		return ref, ok && ref.Task != ""
	}
	if b, ok := nodes[n.BoundaryID]; ok && b.TemplateName != "" {
		if ref, ok := names[b.TemplateName+"/"+base]; ok && ref.Task != "" {
			return ref, true
		}
	}
	ref, ok := names[base]
	return ref, ok && ref.Task != ""
}

// sharedPath is the path key of the DAG node b that runs a shared template: the template of the DAG that
// called it, or that DAG's own path when it is shared too, then the calling task's name (a loop iteration or
// retry attempt counts as its task).
func sharedPath(wf *wfv1.Workflow, dags dagKinds, nodes wfv1.Nodes, b *wfv1.NodeStatus, depth int) (string, bool) {
	if depth > 64 {
		return "", false
	}
	call, _ := splitIteration(relativeName(wf, nodes, b)) // also "task(1)", a retry attempt
	parent, ok := dags.enclosing(nodes, b.BoundaryID)
	if !ok || parent.TemplateName == "" {
		return "", false
	}
	if dags.shared[parent.TemplateName] {
		path, ok := sharedPath(wf, dags, nodes, &parent, depth+1)
		return path + "/" + call, ok
	}
	return parent.TemplateName + "/" + call, true
}

// relativeName is the node's name below its boundary, as Argo derives display names, but immune to
// display names set by templates: "train", "loop(0:a)", "[0].step" -> "step", "exit-handler-1.onExit".
func relativeName(wf *wfv1.Workflow, nodes wfv1.Nodes, n *wfv1.NodeStatus) string {
	prefix := wf.Name
	if b, ok := nodes[n.BoundaryID]; ok && strings.HasPrefix(n.Name, b.Name) {
		prefix = b.Name
	}
	if !strings.HasPrefix(n.Name, prefix) {
		return n.Name
	}
	return trimStepOrDAGSeparator(strings.TrimPrefix(n.Name, prefix))
}

// trimStepOrDAGSeparator removes how Argo joins a node's name to its boundary's: "." for DAG tasks,
// "[<n>]." for steps.
func trimStepOrDAGSeparator(s string) string {
	if rest, ok := strings.CutPrefix(s, "."); ok {
		return rest
	}
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "].")
		if end > 1 && isDigits(s[1:end]) {
			return s[end+2:]
		}
	}
	return s
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// splitIteration splits "train(3:{...})" into "train" and 3; a name without a loop suffix gives -1.
func splitIteration(rel string) (string, int) {
	i := strings.IndexByte(rel, '(')
	if i < 0 {
		return rel, -1
	}
	// Argo appends "(<index>:<item>)" for a loop iteration, "(<n>)" for a retry attempt.
	digits, _, isLoop := strings.Cut(rel[i+1:], ":")
	if !isLoop || !isDigits(digits) {
		return rel[:i], -1
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return rel[:i], -1
	}
	return rel[:i], n
}

// isAttempt reports whether child is one of Argo's "<retry node name>(<n>)" attempts.
func isAttempt(retryName, child string) bool { return attemptNumber(retryName, child) >= 0 }

func attemptNumber(retryName, child string) int {
	rest, ok := strings.CutPrefix(child, retryName+"(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ")"))
	if err != nil {
		return -1
	}
	return n
}

// nodeState maps a node phase to a task state. Nodes Argo failed because the Workflow was shut down are
// CANCELED, not FAILED: the user stopped them, they did not break.
func nodeState(n *wfv1.NodeStatus) State {
	switch n.Phase {
	case wfv1.NodeRunning:
		if n.Type == wfv1.NodeTypeSuspend {
			return StatePaused
		}
		return StateRunning
	case wfv1.NodeSucceeded:
		return StateSucceeded
	case wfv1.NodeSkipped, wfv1.NodeOmitted:
		return StateSkipped
	case wfv1.NodeFailed, wfv1.NodeError:
		if strings.HasPrefix(n.Message, argoShutdownNodeMessage) || strings.HasPrefix(n.Message, argoStoppedMessage) {
			return StateCanceled
		}
		return StateFailed
	}
	return StatePending
}

// podName follows Argo's pod naming (workflow/util.GeneratePodName) so that logs can be found from the
// record alone, also after the Workflow is gone.
func podName(wf *wfv1.Workflow, n *wfv1.NodeStatus) string {
	if wf.Annotations[argoPodNameFormatAnnotation] == "v1" {
		return n.ID
	}
	if n.Name == wf.Name {
		return wf.Name
	}
	tmpl := n.TemplateName
	if n.TemplateRef != nil {
		tmpl = n.TemplateRef.Template
	}
	prefix := wf.Name
	if tmpl != "" {
		prefix += "-" + tmpl
	}
	if len(prefix) > argoMaxPodNamePrefix-1 {
		prefix = prefix[:argoMaxPodNamePrefix-1]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(n.Name))
	return fmt.Sprintf("%s-%d", prefix, h.Sum32())
}

// metricPrefix names a row in metric names: "train", or "train[2]" for loop iteration 2.
func metricPrefix(t Task) string {
	var b strings.Builder
	b.WriteString(t.Name)
	for _, i := range t.Iteration {
		fmt.Fprintf(&b, "[%d]", i)
	}
	return b.String()
}

// artifactMetadata is the document the pod-side wrapper or launcher writes for each output artifact
// (docs/compile.md, "Runtime contract"); container components write no schemaTitle.
type artifactMetadata struct {
	Metadata    map[string]json.RawMessage `json:"metadata"`
	SchemaTitle string                     `json:"schemaTitle"`
	Producer    string                     `json:"producer"`
}

// metricsSchema reports artifact types whose numeric metadata values are run metrics. KFP's
// ClassificationMetrics keep their curves and matrices in structured values, which are skipped; only
// top-level numbers (an AUC logged with log_metric, say) count.
func metricsSchema(title string) bool {
	return title == "system.Metrics" || title == "system.ClassificationMetrics"
}

// rowMetrics collects a row's metrics: numeric output parameters of pods, then the numeric metadata of
// its Metrics artifacts, which win on a clash because they are metrics by declaration.
func rowMetrics(r *nodeRow) (map[string]float64, []string) {
	t := r.task
	prefix := metricPrefix(t)
	out := map[string]float64{}
	var warnings []string
	if t.Type == string(wfv1.NodeTypePod) || t.Type == string(wfv1.NodeTypeContainer) {
		for name, v := range t.Outputs {
			if f, ok := jsonNumber(v); ok {
				out[prefix+"."+name] = f
			}
		}
	}
	arts := map[string]artifactMetadata{}
	for _, name := range sortedKeys(r.metadata) {
		var a artifactMetadata
		if err := json.Unmarshal([]byte(r.metadata[name]), &a); err != nil {
			warnings = append(warnings, fmt.Sprintf("task %s: output %s%s: %v", prefix, translate.MetadataParameterPrefix, name, err))
			continue
		}
		arts[name] = a
	}
	var metricArts []string
	for _, name := range sortedKeys(arts) {
		if metricsSchema(arts[name].SchemaTitle) {
			metricArts = append(metricArts, name)
		}
	}
	for _, name := range metricArts {
		p := prefix
		if len(metricArts) > 1 {
			p += "." + name
		}
		for k, raw := range arts[name].Metadata {
			if f, ok := jsonNumber(string(raw)); ok {
				out[p+"."+k] = f
			}
		}
	}
	return out, warnings
}

// jsonNumber accepts a JSON number only: "3", "-0.5", "1e3", not "true", "\"3\"", "NaN" or "0x10".
func jsonNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return 0, false
	}
	return f, true
}

// isArgoChildFailed recognizes Argo's message for a DAG or steps node that failed because a child did,
// "child '<node id>' failed": it names the child by node ID, which means nothing to a pipeline's user.
func isArgoChildFailed(msg string) bool {
	id, ok := strings.CutPrefix(msg, "child '")
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, "' failed")
	return ok && id != "" && !strings.Contains(id, "'")
}

// runError is the message a failed or canceled run shows: Argo's, unless it only points at a failed
// child, in which case the first failed task (by finish time) and its error.
func runError(wf *wfv1.Workflow, tasks []Task) string {
	msg := wf.Status.Message
	if msg != "" && !isArgoChildFailed(msg) {
		return msg
	}
	var first *Task
	for i := range tasks {
		t := &tasks[i]
		if t.State != StateFailed || t.Error == "" || t.Type == string(wfv1.NodeTypeDAG) || t.Type == string(wfv1.NodeTypeTaskGroup) {
			continue
		}
		if first == nil || (!t.Finished.IsZero() && t.Finished.Before(first.Finished)) {
			first = t
		}
	}
	if first == nil {
		return msg
	}
	return fmt.Sprintf("task %s failed: %s", metricPrefix(*first), first.Error)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
