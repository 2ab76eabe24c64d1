package argo

import (
	"encoding/json"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// argoKeyPrefix marks the labels and annotations Argo's controller writes about a Workflow's execution
// (workflows.argoproj.io/completed, phase, ...): they describe the old attempt, not the new one.
const argoKeyPrefix = "workflows.argoproj.io/"

// NewAttempt returns a Workflow that runs old again from the start under the same name: old's spec without
// spec.shutdown and spec.suspend, its labels and annotations except Argo's execution bookkeeping, no status.
// kfp-argo's `run retry` is this resubmission rather than Argo's in-place `argo retry`: Argo's retry rewrites
// the node status (workflow/util.FormulateRetryWorkflow), and that code cannot be imported without Argo's
// server and its dependencies. Tasks with caching on are memoization hits in the new attempt, so in
// practice only what failed, and what depends on it, runs again.
func NewAttempt(old *wfv1.Workflow, annotations map[string]string) *wfv1.Workflow {
	wf := &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        old.Name,
			Namespace:   old.Namespace,
			Labels:      map[string]string{},
			Annotations: map[string]string{},
		},
		Spec: *old.Spec.DeepCopy(),
	}
	for k, v := range old.Labels {
		if !strings.HasPrefix(k, argoKeyPrefix) {
			wf.Labels[k] = v
		}
	}
	for k, v := range old.Annotations {
		if !strings.HasPrefix(k, argoKeyPrefix) || k == argoKeyPrefix+"pod-name-format" {
			wf.Annotations[k] = v
		}
	}
	for k, v := range annotations {
		wf.Annotations[k] = v
	}
	wf.Spec.Shutdown = wfv1.ShutdownStrategyNone
	wf.Spec.Suspend = nil
	return wf
}

func jsonMergePatch(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	return b, nil
}
