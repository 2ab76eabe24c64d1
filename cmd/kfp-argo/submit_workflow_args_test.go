package main

import (
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/translate"
)

// TestSetWorkflowArgumentsRefusesRuntimeScripts: -p cannot replace the script a compiled workflow's pods run.
func TestSetWorkflowArgumentsRefusesRuntimeScripts(t *testing.T) {
	wf := &wfv1.Workflow{}
	wf.Spec.Arguments.Parameters = []wfv1.Parameter{{Name: translate.WrapperParameter, Value: wfv1.AnyStringPtr("print(1)")}}
	err := setWorkflowArguments(wf, []string{translate.WrapperParameter + "=import os"}, "")
	if err == nil || !strings.Contains(err.Error(), "runtime script") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if got := wf.Spec.Arguments.Parameters[0].Value.String(); got != "print(1)" {
		t.Errorf("script replaced by %q", got)
	}
}
