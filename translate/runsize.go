package translate

import (
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// statusBytesPerNode is about what one node adds to a running Workflow as Argo's controller stores it once the
// node status no longer fits uncompressed: its share of status.compressedNodes (gzip + base64). Measured with Argo
// v3.7.18 on the 3,000-task synthetic pipeline (short output values): 219,154 bytes for 3,137 nodes, 70 a node;
// the controller gave up when the whole object passed 1 MiB compressed. 90 leaves room for longer values.
const statusBytesPerNode = 90

// RunSize is the expected size of a Workflow while it runs, against Argo's MAX_WORKFLOW_SIZE.
type RunSize struct {
	Spec  int // bytes of JSON as compiled
	Nodes int // nodes if every condition is taken and every loop over a run-time list has one item
}

// Status is the expected node status in bytes.
func (s RunSize) Status() int { return s.Nodes * statusBytesPerNode }

// EstimateRunSize counts the nodes a run of wf creates, statically: each DAG task is a node, a loop over a
// static list has a node per item and one for the group, a retried task one more for its retry node, and a DAG
// task adds the nodes of its template.
func EstimateRunSize(wf *wfv1.Workflow) (RunSize, error) {
	raw, err := json.Marshal(wf)
	if err != nil {
		return RunSize{}, err
	}
	byName := make(map[string]*wfv1.Template, len(wf.Spec.Templates))
	for i := range wf.Spec.Templates {
		byName[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	memo := map[string]int{}
	var nodes func(name string, depth int) int
	nodes = func(name string, depth int) int {
		if n, ok := memo[name]; ok {
			return n
		}
		t := byName[name]
		if t == nil || depth > 100 {
			return 1
		}
		n := 1
		if t.RetryStrategy != nil {
			n++
		}
		if t.DAG != nil {
			for _, task := range t.DAG.Tasks {
				each := nodes(task.Template, depth+1)
				for _, h := range task.Hooks {
					each += nodes(h.Template, depth+1)
				}
				switch {
				case len(task.WithItems) > 0:
					n += 1 + len(task.WithItems)*each
				case task.WithParam != "" || task.WithSequence != nil:
					n += 1 + each
				default:
					n += each
				}
			}
		}
		memo[name] = n
		return n
	}
	total := nodes(wf.Spec.Entrypoint, 0)
	if wf.Spec.OnExit != "" {
		total += nodes(wf.Spec.OnExit, 0)
	}
	return RunSize{Spec: len(raw), Nodes: total}, nil
}

// RunSizeWarning says when a compiled workflow, small enough to be stored, is expected to pass Argo's
// MAX_WORKFLOW_SIZE once its node status grows: the controller then fails the run part way. Empty when it is
// expected to fit. It is a warning, not an error: the count is an estimate (conditions not taken, loops over
// run-time lists and the size of output values change it), and clusters that offload node status to a
// database only count the spec.
func RunSizeWarning(wf *wfv1.Workflow) (string, error) {
	s, err := EstimateRunSize(wf)
	if err != nil {
		return "", err
	}
	if s.Spec+s.Status() <= maxWorkflowBytes {
		return "", nil
	}
	return fmt.Sprintf("the workflow is %d bytes of JSON and a run adds about %d bytes of node status (%d nodes if every condition is taken, about %d bytes each compressed): past %d bytes (MAX_WORKFLOW_SIZE, Argo's default) the controller fails the run part way, unless the cluster offloads node status to a database; split the pipeline, or use a dsl.ParallelFor over a list instead of a static fan-out of tasks",
		s.Spec, s.Status(), s.Nodes, statusBytesPerNode, maxWorkflowBytes), nil
}
