package translate

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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
	// compressTaskNamesAbove is the size from which the task-name map is stored compressed.
	compressTaskNamesAbove = 8 << 10
	// compressedTaskNamesPrefix marks a compressed task-name map: gzip, then base64.
	compressedTaskNamesPrefix = "gzip+base64:"
)

// encodeTaskNames writes the task-name map for its annotation: JSON, compressed when large (display names
// that differ from task names are the bulk of it, and they repeat a lot).
func encodeTaskNames(refs map[string]TaskRef) (string, error) {
	raw, err := json.Marshal(refs)
	if err != nil || len(raw) <= compressTaskNamesAbove {
		return string(raw), err
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return compressedTaskNamesPrefix + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeTaskNames reads the kfp-argo.io/task-names annotation, plain or compressed.
func DecodeTaskNames(value string) (map[string]TaskRef, error) {
	raw := []byte(value)
	if rest, ok := strings.CutPrefix(value, compressedTaskNamesPrefix); ok {
		gz, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, err
		}
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil, err
		}
		// The annotation is at most 256 KiB; its JSON is bounded so that a crafted one cannot exhaust memory.
		if raw, err = io.ReadAll(io.LimitReader(r, 64<<20)); err != nil {
			return nil, err
		}
	}
	names := map[string]TaskRef{}
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, err
	}
	return names, nil
}

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
		return fmt.Errorf("the workflow's annotations take %d bytes, over Kubernetes' limit of %d for all annotations of an object (the largest, %s, is %d bytes, compressed where it is the task-name map): give tasks shorter display names, or split the pipeline", total, maxAnnotationBytes, largestKey, largest)
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
