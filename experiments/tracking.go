package experiments

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/kfp-argo/kfp-argo/translate"
)

// Which Workflows are runs (docs/records.md, "Which Workflows are runs"): every Workflow kfp-argo compiled,
// however it reached the cluster (`kfp-argo submit`, `kubectl create`, `argo submit`, a WorkflowTemplate or a
// CronWorkflow, whose workflowMetadata carries the label), and any other Workflow labelled with LabelRun
// (`kfp-argo submit` of a plain Argo manifest does that). Nothing else: plain Argo Workflows stay Argo's.

// IsRun reports whether wf is a run that kfp-argo tracks.
func IsRun(wf *wfv1.Workflow) bool {
	if wf == nil {
		return false
	}
	if wf.Labels[translate.LabelManagedBy] == translate.ManagedByValue {
		return true
	}
	_, ok := wf.Labels[LabelRun]
	return ok
}

// RunSelectors are label selectors that together select exactly the Workflows IsRun accepts, each once: a
// label selector cannot say "this label or that one", so it takes two disjoint ones.
func RunSelectors() []labels.Selector {
	compiled := labels.SelectorFromSet(labels.Set{translate.LabelManagedBy: translate.ManagedByValue})
	labelled := labels.NewSelector().Add(mustRequirement(LabelRun, selection.Exists, nil),
		mustRequirement(translate.LabelManagedBy, selection.NotEquals, []string{translate.ManagedByValue}))
	return []labels.Selector{compiled, labelled}
}

func mustRequirement(key string, op selection.Operator, vals []string) labels.Requirement {
	req, err := labels.NewRequirement(key, op, vals)
	if err != nil {
		panic(fmt.Sprintf("label requirement on the constant key %s: %v", key, err)) // cannot fail
	}
	return *req
}
