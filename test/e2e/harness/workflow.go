//go:build e2e

package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/typed/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NewName is prefix plus a random suffix: tests name their workflows themselves so that they know the name
// before any pod exists.
func NewName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// WaitDone polls the workflow until it has completed and returns it. After timeout it returns the last
// version it read (nil if none) and an error that describes it.
func WaitDone(ctx context.Context, wfs wfclient.WorkflowInterface, name string, timeout time.Duration) (*wfv1.Workflow, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last *wfv1.Workflow
	for {
		wf, err := wfs.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = wf
			if wf.Status.Phase.Completed() {
				return wf, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("workflow %s not done after %s: %s", name, timeout, Describe(last))
		case <-tick.C:
		}
	}
}

// Describe summarizes a workflow's status for failure messages: its phase and message, and every pod node
// and every node that did not succeed.
func Describe(wf *wfv1.Workflow) string {
	if wf == nil {
		return "(never read)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase %q message %q", wf.Status.Phase, wf.Status.Message)
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod || n.Phase != wfv1.NodeSucceeded {
			fmt.Fprintf(&b, "\n  node %s (%s, %s) %s %q", n.DisplayName, n.Type, n.TemplateName, n.Phase, n.Message)
		}
	}
	return b.String()
}

// NodeMessageContains says whether some node's message contains s.
func NodeMessageContains(wf *wfv1.Workflow, s string) bool {
	for _, n := range wf.Status.Nodes {
		if strings.Contains(n.Message, s) {
			return true
		}
	}
	return false
}
