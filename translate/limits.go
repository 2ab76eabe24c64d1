package translate

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// int32In converts an IR or flag number that Argo or Kubernetes stores as int32, refusing what would wrap
// (2147483648 becoming -2147483648) or fall outside [lo, hi].
func int32In(v float64, lo, hi int64, what string) (int32, error) {
	if math.IsNaN(v) || v < float64(lo) || v > float64(hi) || hi > math.MaxInt32 || lo < math.MinInt32 {
		return 0, fmt.Errorf("%s %v: expected %d to %d", what, v, lo, hi)
	}
	return int32(v), nil
}

// Limits of the objects compile writes.
const (
	// maxAnnotationBytes is Kubernetes' limit on all annotations of an object, keys and values together.
	maxAnnotationBytes = 256 << 10
	// maxWorkflowBytes is the JSON size of a Workflow that Argo's controller accepts by default
	// (MAX_WORKFLOW_SIZE, workflow/packer): above it the run fails, status offloading or not, since the spec
	// alone is that large. The API server's own limit (about 1.5 MiB) is higher.
	maxWorkflowBytes = 1 << 20
	// maxDescriptionBytes bounds the pipeline description copied into an annotation.
	maxDescriptionBytes = 4 << 10
)

// truncateText cuts s to at most max bytes on a UTF-8 boundary and says so.
func truncateText(s string, max int) string {
	const marker = " [truncated by kfp-argo]"
	if len(s) <= max {
		return s
	}
	cut := max - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// renamedTasks keeps the task-name entries that say something: a task whose Argo name, IR name and display name
// are one needs none (the run record falls back to the Argo name), which keeps the annotation small for large
// pipelines. A sub-pipeline entry stays when dropping it would let the lookup fall back to a root entry of the
// same name.
func renamedTasks(refs map[string]TaskRef) map[string]TaskRef {
	out := make(map[string]TaskRef)
	for key, ref := range refs {
		base := key
		if i := strings.LastIndex(key, "/"); i >= 0 {
			base = key[i+1:]
		}
		if ref.Task == base && (ref.DisplayName == "" || ref.DisplayName == base) {
			if _, shadowed := refs[base]; !shadowed || base == key {
				continue
			}
		}
		out[key] = ref
	}
	return out
}

// checkObjectLimits refuses, at compile time, a workflow the API server or Argo's controller would refuse.
func checkObjectLimits(wf *wfv1.Workflow) error {
	total, largest, largestKey := 0, 0, ""
	for k, v := range wf.Annotations {
		total += len(k) + len(v)
		if len(v) > largest {
			largest, largestKey = len(v), k
		}
	}
	if total > maxAnnotationBytes {
		return fmt.Errorf("the workflow's annotations take %d bytes, over Kubernetes' limit of %d (the largest, %s, is %d bytes): give tasks shorter display names, or split the pipeline", total, maxAnnotationBytes, largestKey, largest)
	}
	raw, err := json.Marshal(wf)
	if err != nil {
		return err
	}
	if len(raw) > maxWorkflowBytes {
		return fmt.Errorf("the compiled workflow is %d bytes of JSON, over the %d that Argo's controller accepts by default (MAX_WORKFLOW_SIZE): split the pipeline into sub-pipelines run separately, or use a dsl.ParallelFor over a list instead of a static fan-out of tasks", len(raw), maxWorkflowBytes)
	}
	return nil
}
