package argo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	wftyped "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/typed/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// ErrNotFound is returned (wrapped with the API server's error) when a Workflow or pod does not exist.
const ErrNotFound = sentinel("not found")

// sentinel makes error values constants, so no package-level variable exists that could be reassigned.
type sentinel string

func (s sentinel) Error() string { return string(s) }

// MainContainer is the container of Argo pods that runs the template; the others are Argo's.
const MainContainer = "main"

// listPageSize bounds each List call, so namespaces with thousands of Workflows are read in pages.
const listPageSize = 250

// Workflows are the Workflow operations kfp-argo needs in one namespace: the Argo clientset for Workflows,
// the core client for pod logs.
type Workflows struct {
	wfs       wftyped.WorkflowInterface
	pods      typedcorev1.PodInterface
	namespace string
}

// NewWorkflows works in namespace with the given clientsets (real or fake).
func NewWorkflows(argo wfclientset.Interface, kube kubernetes.Interface, namespace string) *Workflows {
	return &Workflows{
		wfs:       argo.ArgoprojV1alpha1().Workflows(namespace),
		pods:      kube.CoreV1().Pods(namespace),
		namespace: namespace,
	}
}

// Namespace is where the Workflows live.
func (w *Workflows) Namespace() string { return w.namespace }

func wrap(op, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s workflow %q: %w: %w", op, name, ErrNotFound, err)
	}
	return fmt.Errorf("%s workflow %q: %w", op, name, err)
}

// Create creates wf. With serverDryRun the API server validates and defaults it (the full CRD schema,
// admission) without storing it. A Workflow with only generateName gets its name from the API server.
func (w *Workflows) Create(ctx context.Context, wf *wfv1.Workflow, serverDryRun bool) (*wfv1.Workflow, error) {
	opts := metav1.CreateOptions{}
	if serverDryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	wf = wf.DeepCopy()
	wf.Namespace = w.namespace
	out, err := w.wfs.Create(ctx, wf, opts)
	if err != nil {
		name := wf.Name
		if name == "" {
			name = wf.GenerateName + "*"
		}
		return nil, wrap("create", name, err)
	}
	return out, nil
}

// GenerateName returns prefix plus five random characters, as the API server does for generateName. Callers
// that must label a Workflow with its own name before creating it use this and retry on a conflict.
func GenerateName(prefix string) string {
	return prefix + utilrand.String(5)
}

// Get reads a Workflow.
func (w *Workflows) Get(ctx context.Context, name string) (*wfv1.Workflow, error) {
	wf, err := w.wfs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, wrap("get", name, err)
	}
	return wf, nil
}

// List returns the Workflows matching a label selector ("" for all), reading in pages.
func (w *Workflows) List(ctx context.Context, selector string) ([]wfv1.Workflow, error) {
	var out []wfv1.Workflow
	opts := metav1.ListOptions{LabelSelector: selector, Limit: listPageSize}
	for {
		page, err := w.wfs.List(ctx, opts)
		if err != nil {
			return out, fmt.Errorf("list workflows (selector %q): %w", selector, err)
		}
		out = append(out, page.Items...)
		if page.Continue == "" {
			return out, nil
		}
		opts.Continue = page.Continue
	}
}

// Delete deletes a Workflow in the foreground: the API server keeps it until its pods are gone, so that a
// Workflow created again under the same name never meets its predecessor's pods. A non-empty uid is a
// precondition: a newer Workflow of the same name is never deleted by mistake.
func (w *Workflows) Delete(ctx context.Context, name, uid string) error {
	policy := metav1.DeletePropagationForeground
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	if uid != "" {
		u := types.UID(uid)
		opts.Preconditions = &metav1.Preconditions{UID: &u}
	}
	if err := w.wfs.Delete(ctx, name, opts); err != nil {
		return wrap("delete", name, err)
	}
	return nil
}

// WaitDeleted polls until the Workflow named name with the given UID (any, when empty) is gone.
func (w *Workflows) WaitDeleted(ctx context.Context, name, uid string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		wf, err := w.wfs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return uid != "" && string(wf.UID) != uid, nil
	})
	if err != nil {
		return fmt.Errorf("wait for workflow %q to be deleted: %w", name, err)
	}
	return nil
}

// Shutdown sets spec.shutdown, which is all `argo stop` (Stop: exit handlers still run) and `argo terminate`
// (Terminate: nothing more runs) do when no node selector is given.
func (w *Workflows) Shutdown(ctx context.Context, name string, strategy wfv1.ShutdownStrategy) (*wfv1.Workflow, error) {
	patch := fmt.Sprintf(`{"spec":{"shutdown":%q}}`, strategy)
	wf, err := w.wfs.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return nil, wrap(strings.ToLower(string(strategy)), name, err)
	}
	return wf, nil
}

// Annotate merges annotations into a Workflow's metadata.
func (w *Workflows) Annotate(ctx context.Context, name string, annotations map[string]string) (*wfv1.Workflow, error) {
	patch, err := jsonMergePatch(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return nil, err
	}
	wf, err := w.wfs.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, wrap("annotate", name, err)
	}
	return wf, nil
}

// Watch calls fn with the Workflow named name now and on every change until fn returns done or an error, or
// ctx ends. The informer behind it re-lists after dropped watches, so a long watch misses no final state.
// It returns the last Workflow seen. A deleted Workflow ends the watch with ErrNotFound.
func (w *Workflows) Watch(ctx context.Context, name string, fn func(*wfv1.Workflow) (done bool, err error)) (*wfv1.Workflow, error) {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = sel
			return w.wfs.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = sel
			return w.wfs.Watch(ctx, opts)
		},
	}
	var last *wfv1.Workflow
	var fnErr error
	seen := false
	precondition := func(store cache.Store) (bool, error) {
		// The initial list decides: an absent Workflow is an error, not a wait for one to appear.
		for _, obj := range store.List() {
			if wf, ok := obj.(*wfv1.Workflow); ok && wf.Name == name {
				seen = true
				last = wf
				done, err := fn(wf)
				if err != nil {
					fnErr = err
					return true, nil
				}
				return done, nil
			}
		}
		return false, fmt.Errorf("watch workflow %q: %w", name, ErrNotFound)
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &wfv1.Workflow{}, precondition, func(ev watch.Event) (bool, error) {
		wf, ok := ev.Object.(*wfv1.Workflow)
		if !ok || wf.Name != name {
			return false, nil
		}
		last = wf
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("watch workflow %q: deleted: %w", name, ErrNotFound)
		}
		done, err := fn(wf)
		if err != nil {
			fnErr = err
			return true, nil
		}
		return done, nil
	})
	if fnErr != nil {
		return last, fnErr
	}
	if err != nil {
		if !seen && errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return last, fmt.Errorf("watch workflow %q: %w", name, err)
	}
	return last, nil
}

// LogOptions select pod log output.
type LogOptions struct {
	// Container defaults to MainContainer.
	Container string
	Follow    bool
	// TailLines, when positive, limits the output to the last lines.
	TailLines int64
}

// PodLogs copies a pod container's log to out, following it until the container ends when asked.
func (w *Workflows) PodLogs(ctx context.Context, pod string, o LogOptions, out io.Writer) error {
	if o.Container == "" {
		o.Container = MainContainer
	}
	opts := &corev1.PodLogOptions{Container: o.Container, Follow: o.Follow}
	if o.TailLines > 0 {
		opts.TailLines = &o.TailLines
	}
	rc, err := w.pods.GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("logs of pod %s: %w: %w", pod, ErrNotFound, err)
		}
		return fmt.Errorf("logs of pod %s: %w", pod, err)
	}
	defer rc.Close()
	if _, err := io.Copy(out, rc); err != nil {
		return fmt.Errorf("logs of pod %s: %w", pod, err)
	}
	return nil
}
