package translate

import (
	"testing"
)

// The tests in this file run lightweight components with KFP's real executor (kfp.dsl.executor_main from the
// SDK beside the repository), in pods whose names are longer than the 63 characters of a hostname.

// TestKFPExecutorCollected: dsl.Collected of datasets and of integers through the real executor.
func TestKFPExecutorCollected(t *testing.T) {
	sdk := kfpSDK(t)
	wf := compileFixture(t, "kfp-executor-collected.yaml", Options{})
	r := newArgoRun(t, wf, sdk)
	out := r.run()
	long := false
	for _, pod := range r.podName {
		long = long || len(pod) > 63
	}
	if !long {
		t.Fatalf("no pod name exceeds 63 characters: %v", r.podName)
	}
	t.Run("collected datasets (pod names > 63 characters)", func(t *testing.T) {
		if got := r.param(t, "join-datasets", "Output"); got != "1:1,2:2,3:3" {
			t.Errorf("join-datasets returned %q, want 1:1,2:2,3:3", got)
		}
	})
	t.Run("collected integers", func(t *testing.T) {
		if got := r.param(t, "sum-values", "Output"); got != "12" {
			t.Errorf("sum-values returned %q, want 12", got)
		}
	})
	t.Run("collected list pipeline output is typed", func(t *testing.T) {
		if got := out.params["doubled"]; got != "[2,4,6]" {
			t.Errorf("pipeline output doubled = %s, want [2,4,6]", got)
		}
	})
}

func (r *argoRun) param(t *testing.T, task, name string) string {
	t.Helper()
	n := r.nodes[r.name+"."+task]
	if n == nil || n.failed || n.skipped {
		t.Fatalf("task %s did not succeed", task)
	}
	v, ok := DecodeValue(n.params[name])
	if !ok {
		t.Fatalf("task %s: output %s not given", task, name)
	}
	return v
}

// TestKFPExecutorContract: what the real executor does with custom paths, BOOLEAN and string outputs, pythonic
// artifacts and artifact URIs arrives intact at the next task, through Argo's handling of values.
func TestKFPExecutorContract(t *testing.T) {
	sdk := kfpSDK(t)
	needTool(t, "base64")
	wf := compileFixture(t, "kfp-executor-contract.yaml", Options{})
	r := newArgoRun(t, wf, sdk)
	r.run()
	t.Run("custom path", func(t *testing.T) {
		if got := r.param(t, "read-custom-path", "Output"); got != "Hello, World!" {
			t.Errorf("the consumer read %q, want the data written at the custom path", got)
		}
	})
	t.Run("BOOLEAN written as True", func(t *testing.T) {
		for _, task := range []string{"flag-file", "flag-container"} {
			if got := r.nodes[r.name+"."+task].params["flag"]; got != "true" {
				t.Errorf("%s: flag travels as %q, want the canonical true", task, got)
			}
		}
		for _, task := range []string{"condition-1", "condition-2"} {
			if n := r.nodes[r.name+"."+task]; n == nil || n.skipped {
				t.Errorf("%s was skipped: the branch of a true flag must run", task)
			}
		}
	})
	t.Run("trailing newline", func(t *testing.T) {
		if got := r.param(t, "echo-newline", "Output"); got != "ends with a newline\n" {
			t.Errorf("the consumer got %q", got)
		}
	})
	t.Run("container output that looks inert", func(t *testing.T) {
		if got := r.param(t, "echo-marker", "Output"); got != "%%kfpb64:aGk=%%" {
			t.Errorf("the Python consumer got %q, want the container's text unchanged", got)
		}
	})
	t.Run("pythonic artifact output", func(t *testing.T) {
		if got := r.param(t, "read-pythonic", "Output"); got != "pythonic" {
			t.Errorf("the consumer read %q", got)
		}
	})
}
