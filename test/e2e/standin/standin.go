// Package standin is TEST CODE that stands in for Argo's executor (the
// `wait` container) on the e2e cluster, where kwok simulates pods and
// nothing runs in them.
//
// For every pod of a workflow it does what the wait container would do once
// the task's process ended: it creates the WorkflowTaskResult holding the
// task's outputs (named after the pod's node ID, labelled with the workflow
// and report-outputs-completed=true, owned by the Workflow), then sets the
// pod's exit-code label, on which kwok's stages end the pod with that exit
// code (see cluster.ExitCodeLabel). Output parameter values come from a
// per-test function of the task; missing ones get placeholders of their
// declared type. Output artifacts get keys in the configured artifact
// repository; nothing is uploaded. Resource templates (KFP's CreatePVC and
// DeletePVC) have their action performed, as argoexec would. Unbound
// PersistentVolumeClaims in the namespace get a pre-bound PersistentVolume
// (storage.go), since no provisioner exists. The apiserver, the scheduler,
// the volume binder and the Argo controller that consume all this are real.
package standin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	argoinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	wflisters "github.com/argoproj/argo-workflows/v3/pkg/client/listers/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/packer"
	corev1 "k8s.io/api/core/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

// Argo's pod and task-result vocabulary (workflow/common in Argo; that
// package drags in the controller's dependencies, so the strings are
// repeated here).
const (
	labelWorkflow         = workflow.WorkflowFullName + "/workflow"
	labelOutputsCompleted = workflow.WorkflowFullName + "/report-outputs-completed"
	annotationNodeID      = workflow.WorkflowFullName + "/node-id"
	annotationNodeName    = workflow.WorkflowFullName + "/node-name"
	envTemplate           = "ARGO_TEMPLATE"
	envTemplateOffloaded  = "ARGO_TEMPLATE_OFFLOADED"
)

// Task is one pod as the stand-in sees it.
type Task struct {
	Namespace string
	Workflow  string
	Pod       string
	NodeID    string
	// NodeName is Argo's node name, e.g. "wf-x7k2p.consumer" or
	// "wf-x7k2p.fan(1:b)(0)".
	NodeName string
	// TaskName is the DAG task or step name: the last element of NodeName
	// without its loop-item and retry suffixes.
	TaskName     string
	TemplateName string
	// Attempt is the retry number: 0 for the first try (and for tasks
	// without a retryStrategy).
	Attempt int
	// Inputs holds the input parameter values the controller resolved for
	// the node; InputArtifacts the keys of the pod's input artifacts.
	Inputs         map[string]string
	InputArtifacts map[string]string
	Labels         map[string]string
	// MainEnv is the main container's environment as written in the pod
	// spec (valueFrom entries are left out).
	MainEnv map[string]string
	// Template is the resolved template (from the pod's ARGO_TEMPLATE).
	Template *wfv1.Template
}

// Result is how a task ends.
type Result struct {
	// ExitCode of the main container; 0 succeeds.
	ExitCode int
	// Outputs are output parameter values by name; declared outputs not in
	// the map get Placeholder values.
	Outputs map[string]string
	// Runtime is how long the task "runs" before it reports and ends:
	// simulated work, so tests can observe pods running side by side.
	Runtime time.Duration
}

// Func decides a task's result. It is called once per pod, from several
// goroutines at once.
type Func func(Task) Result

// Options configure a stand-in.
type Options struct {
	// Namespace whose workflow pods to serve.
	Namespace string
	// Behave decides each task's result; nil makes every task succeed
	// with placeholder outputs.
	Behave Func
	// TypeOf names the declared type of an output parameter (KFP's
	// STRING, NUMBER_INTEGER, NUMBER_DOUBLE, BOOLEAN, LIST, STRUCT). An Argo
	// parameter carries no type, so without this (or when it returns "")
	// placeholders are strings.
	TypeOf func(t Task, output string) string
	// Logf reports each handled pod. Default: silent.
	Logf func(format string, args ...any)
}

// Handled is a task and the result the stand-in reported for it.
type Handled struct {
	Task    Task
	Result  Result
	Outputs map[string]string // every output parameter value reported
	// OutputArtifacts are the keys reported for output artifacts.
	OutputArtifacts map[string]string
	Err             error
}

// StandIn serves pods until its context ends.
type StandIn struct {
	opts    Options
	kube    kubernetes.Interface
	argo    argoclient.Interface
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper

	// workflows is an informer's cache: every pod needs its node's status,
	// and a GET per pod of a large workflow (megabytes) would load the
	// apiserver more than the controller under test does.
	workflows wflisters.WorkflowNamespaceLister
	// pods and claims say whether what a retried call serves still exists.
	pods   corelisters.PodLister
	claims corelisters.PersistentVolumeClaimLister

	mu          sync.Mutex
	seen        map[types.UID]bool
	provisioned map[types.UID]bool
	handled     []Handled
	// decompressed holds the node status of workflows whose status Argo
	// compressed, at the resourceVersion it was decoded from.
	decompressed map[string]decompressedNodes
	retries      int
	wg           sync.WaitGroup
}

type decompressedNodes struct {
	resourceVersion string
	nodes           wfv1.Nodes
}

// Start begins serving pods in the background; it returns once its pod
// informer has synced. Cancel ctx to stop it, then Wait.
func Start(ctx context.Context, cfg *rest.Config, opts Options) (*StandIn, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	argo, err := argoclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return start(ctx, kube, argo, dyn, opts)
}

func start(ctx context.Context, kube kubernetes.Interface, argo argoclient.Interface, dyn dynamic.Interface, opts Options) (*StandIn, error) {
	if opts.Behave == nil {
		opts.Behave = func(Task) Result { return Result{} }
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	s := &StandIn{
		opts: opts, kube: kube, argo: argo, dynamic: dyn,
		mapper:       restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery())),
		seen:         map[types.UID]bool{},
		provisioned:  map[types.UID]bool{},
		decompressed: map[string]decompressedNodes{},
	}
	wfFactory := argoinformers.NewSharedInformerFactoryWithOptions(argo, 0, argoinformers.WithNamespace(opts.Namespace))
	wfInf := wfFactory.Argoproj().V1alpha1().Workflows()
	s.workflows = wfInf.Lister().Workflows(opts.Namespace)
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0,
		informers.WithNamespace(opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = labelWorkflow }))
	inf := factory.Core().V1().Pods().Informer()
	s.pods = factory.Core().V1().Pods().Lister()
	handler := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			s.maybeHandle(ctx, pod)
		}
	}
	podReg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handler,
		UpdateFunc: func(_, obj any) { handler(obj) },
	})
	if err != nil {
		return nil, err
	}
	// Claims are served in the namespace whatever their labels: Argo's
	// volumeClaimTemplates and KFP's CreatePVC both make them.
	claims := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(opts.Namespace))
	pvcInf := claims.Core().V1().PersistentVolumeClaims().Informer()
	s.claims = claims.Core().V1().PersistentVolumeClaims().Lister()
	provision := func(obj any) {
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			s.maybeProvision(ctx, pvc)
		}
	}
	pvcReg, err := pvcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    provision,
		UpdateFunc: func(_, obj any) { provision(obj) },
	})
	if err != nil {
		return nil, err
	}
	wfSynced := wfInf.Informer().HasSynced
	factory.Start(ctx.Done())
	claims.Start(ctx.Done())
	wfFactory.Start(ctx.Done())
	// The registrations' HasSynced: every object of the initial lists has
	// reached the handlers (and Wait covers what they started).
	if !cache.WaitForCacheSync(ctx.Done(), podReg.HasSynced, pvcReg.HasSynced, wfSynced) {
		return nil, fmt.Errorf("informers did not sync: %w", ctx.Err())
	}
	go func() {
		<-ctx.Done()
		factory.Shutdown()
		claims.Shutdown()
	}()
	return s, nil
}

// Wait blocks until every pod being handled is done (after ctx ended, or
// whenever the caller wants the in-flight ones finished).
func (s *StandIn) Wait() { s.wg.Wait() }

// Handled lists what was reported so far, in order.
func (s *StandIn) Handled() []Handled {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Handled(nil), s.handled...)
}

// Retries counts the calls repeated after a transient error.
func (s *StandIn) Retries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retries
}

// HandledFor lists what was reported for one workflow.
func (s *StandIn) HandledFor(workflow string) []Handled {
	var out []Handled
	for _, h := range s.Handled() {
		if h.Task.Workflow == workflow {
			out = append(out, h)
		}
	}
	return out
}

// first marks uid in set and says whether it was not marked yet: informers
// deliver an object again on every update, and each pod is to be handled,
// each claim provisioned, once.
func (s *StandIn) first(set map[types.UID]bool, uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set[uid] {
		return false
	}
	set[uid] = true
	return true
}

func (s *StandIn) maybeHandle(ctx context.Context, pod *corev1.Pod) {
	if pod.Annotations[annotationNodeID] == "" || pod.DeletionTimestamp != nil {
		return
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	if !s.first(s.seen, pod.UID) {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.handle(ctx, pod.DeepCopy())
	}()
}

// record keeps h for Handled. It is called before the pod's exit-code label
// is set: once a workflow completes, every one of its pods is recorded.
func (s *StandIn) record(h Handled) {
	if h.Err != nil {
		s.opts.Logf("standin: pod %s: %v", h.Task.Pod, h.Err)
	}
	s.mu.Lock()
	s.handled = append(s.handled, h)
	s.mu.Unlock()
}

func (s *StandIn) handle(ctx context.Context, pod *corev1.Pod) {
	var h Handled
	t, err := s.task(ctx, pod)
	h.Task = t
	if err != nil {
		h.Err = err
		s.record(h)
		return
	}
	res := s.opts.Behave(t)
	// A code set by the workflow itself (template metadata.labels) wins:
	// kwok acts on it whatever is reported here.
	if v, ok := pod.Labels[cluster.ExitCodeLabel]; ok {
		if code, err := strconv.Atoi(v); err == nil {
			res.ExitCode = code
		}
	}
	if t.Template.Resource != nil && res.ExitCode == 0 {
		// The main container of a resource template is argoexec itself:
		// do what it would, and report what it would.
		got, err := s.resourceAction(ctx, pod, t)
		if err != nil {
			s.opts.Logf("standin: pod %s: %v", pod.Name, err)
			res.ExitCode = 1
		}
		if res.Outputs == nil {
			res.Outputs = map[string]string{}
		}
		for k, v := range got {
			res.Outputs[k] = v
		}
	}
	h.Result = res
	if res.Runtime > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(res.Runtime):
		}
	}
	outputs, values := s.outputs(t, res)
	h.Outputs = values
	h.OutputArtifacts = map[string]string{}
	for _, a := range outputs.Artifacts {
		if k, err := a.GetKey(); err == nil {
			h.OutputArtifacts[a.Name] = k
		}
	}
	gone := func() bool { return s.podGone(pod) }
	if err := s.persist(ctx, "report pod "+pod.Name, gone, func() error { return s.report(ctx, pod, t, outputs) }); err != nil {
		h.Err = err
		s.record(h)
		return
	}
	s.record(h)
	if _, ok := pod.Labels[cluster.ExitCodeLabel]; !ok {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{
			cluster.ExitCodeLabel: strconv.Itoa(res.ExitCode)}}})
		err := s.persist(ctx, "label pod "+pod.Name, gone, func() error {
			_, err := s.kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		})
		if err != nil && !apierr.IsNotFound(err) && !errors.Is(err, errPodGone) && ctx.Err() == nil {
			s.opts.Logf("standin: label pod %s: %v", pod.Name, err)
			return
		}
	}
	s.opts.Logf("standin: %s %s (attempt %d) exit %d outputs %v", t.Workflow, t.NodeName, t.Attempt, res.ExitCode, values)
}

// task builds the Task from the pod: the node annotations and the resolved
// template the controller put in the init container's ARGO_TEMPLATE (or, when
// too large for an env var, in a ConfigMap named after the pod).
func (s *StandIn) task(ctx context.Context, pod *corev1.Pod) (Task, error) {
	t := Task{
		Namespace:      pod.Namespace,
		Workflow:       pod.Labels[labelWorkflow],
		Pod:            pod.Name,
		NodeID:         pod.Annotations[annotationNodeID],
		NodeName:       pod.Annotations[annotationNodeName],
		Inputs:         map[string]string{},
		InputArtifacts: map[string]string{},
		Labels:         pod.Labels,
		MainEnv:        map[string]string{},
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == "main" {
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					t.MainEnv[e.Name] = e.Value
				}
			}
		}
	}
	t.TaskName, t.Attempt = ParseNodeName(t.NodeName)
	raw := ""
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.Name == envTemplate && raw == "" {
					raw = e.Value
				}
			}
		}
	}
	if raw == "" {
		return t, fmt.Errorf("pod %s has no %s", pod.Name, envTemplate)
	}
	if raw == envTemplateOffloaded {
		var cm *corev1.ConfigMap
		err := s.persist(ctx, "offloaded template of pod "+pod.Name, func() bool { return s.podGone(pod) }, func() (err error) {
			cm, err = s.kube.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			return err
		})
		if err != nil {
			return t, fmt.Errorf("offloaded template: %w", err)
		}
		raw = cm.Data[envTemplate]
	}
	var tmpl wfv1.Template
	if err := json.Unmarshal([]byte(raw), &tmpl); err != nil {
		return t, fmt.Errorf("decode %s: %w", envTemplate, err)
	}
	t.Template = &tmpl
	t.TemplateName = tmpl.Name
	// The controller strips input parameters from ARGO_TEMPLATE (they are
	// already substituted into the pod); the resolved values are on the
	// workflow's node, written in the same reconcile that created the pod.
	node, err := s.waitNode(ctx, pod, t.Workflow, t.NodeID)
	if err != nil {
		return t, err
	}
	if node.Inputs != nil {
		for _, p := range node.Inputs.Parameters {
			if p.Value != nil {
				t.Inputs[p.Name] = p.Value.String()
			}
		}
	}
	for _, a := range tmpl.Inputs.Artifacts {
		if k, err := a.GetKey(); err == nil {
			t.InputArtifacts[a.Name] = k
		} else if a.Raw != nil {
			t.InputArtifacts[a.Name] = "raw:" + a.Raw.Data
		}
	}
	return t, nil
}

// waitNode waits until the informer's copy of the workflow has the node: the
// controller may create a pod before it stores the node in the status. It
// waits as long as the pod exists: a busy controller may take long to store
// it, and a pod given up on would stay Running for ever.
func (s *StandIn) waitNode(ctx context.Context, pod *corev1.Pod, wf, nodeID string) (wfv1.NodeStatus, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	began := time.Now()
	warned := false
	for {
		n, ok, err := s.node(wf, nodeID)
		if ok || err != nil {
			return n, err
		}
		if s.podGone(pod) {
			return wfv1.NodeStatus{}, fmt.Errorf("node %s of workflow %s: %w before the node appeared", nodeID, wf, errPodGone)
		}
		if !warned && time.Since(began) > 30*time.Second {
			warned = true
			s.opts.Logf("standin: pod %s: node %s still not in workflow %s after %s", pod.Name, nodeID, wf, time.Since(began).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return wfv1.NodeStatus{}, fmt.Errorf("node %s of workflow %s in %s: %w", nodeID, wf, pod.Namespace, ctx.Err())
		case <-tick.C:
		}
	}
}

// errPodGone ends the work on a pod that was deleted (or replaced by one of
// the same name) while it was being handled.
var errPodGone = errors.New("the pod is gone")

// podGone says whether the informer no longer holds this pod, or holds it
// deleted, or holds another pod of its name.
func (s *StandIn) podGone(pod *corev1.Pod) bool {
	cur, err := s.pods.Pods(pod.Namespace).Get(pod.Name)
	return err != nil || cur.UID != pod.UID || cur.DeletionTimestamp != nil
}

// persist calls fn until it succeeds or fails for good, as long as gone says
// that what it serves still exists and ctx lasts. An apiserver under load
// answers with timeouts, throttling and etcd errors; a pod left unreported
// or unlabelled stays Running for ever and its workflow never ends.
func (s *StandIn) persist(ctx context.Context, what string, gone func() bool, fn func() error) error {
	delay := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil || permanent(err) {
			return err
		}
		if gone() {
			return fmt.Errorf("%s: %w (last error: %v)", what, errPodGone, err)
		}
		s.opts.Logf("standin: %s: %v (retrying in %s)", what, err, delay)
		s.mu.Lock()
		s.retries++
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// permanent says whether retrying err cannot help: the request itself is
// wrong, or its object is gone or already there.
func permanent(err error) bool {
	return apierr.IsNotFound(err) || apierr.IsAlreadyExists(err) || apierr.IsInvalid(err) ||
		apierr.IsBadRequest(err) || apierr.IsForbidden(err) || apierr.IsUnauthorized(err) ||
		apierr.IsMethodNotSupported(err) || apierr.IsNotAcceptable(err) || apierr.IsUnsupportedMediaType(err) ||
		errors.Is(err, context.Canceled)
}

// node looks a node up in the cached workflow, decompressing a compressed
// node status once per resourceVersion.
func (s *StandIn) node(wf, nodeID string) (wfv1.NodeStatus, bool, error) {
	w, err := s.workflows.Get(wf)
	if err != nil {
		return wfv1.NodeStatus{}, false, nil // not in the cache yet
	}
	if w.Status.CompressedNodes == "" {
		n, ok := w.Status.Nodes[nodeID]
		return n, ok, nil
	}
	s.mu.Lock()
	d, ok := s.decompressed[wf]
	s.mu.Unlock()
	if !ok || d.resourceVersion != w.ResourceVersion {
		// The cache's object is shared: decompress a copy of the status alone.
		c := &wfv1.Workflow{Status: wfv1.WorkflowStatus{CompressedNodes: w.Status.CompressedNodes}}
		if err := packer.DecompressWorkflow(c); err != nil {
			return wfv1.NodeStatus{}, false, fmt.Errorf("workflow %s: compressed node status: %w", wf, err)
		}
		d = decompressedNodes{resourceVersion: w.ResourceVersion, nodes: c.Status.Nodes}
		s.mu.Lock()
		s.decompressed[wf] = d
		s.mu.Unlock()
	}
	n, ok := d.nodes[nodeID]
	return n, ok, nil
}

var (
	retrySuffix = regexp.MustCompile(`\((\d+)\)$`)
	itemSuffix  = regexp.MustCompile(`\(\d+:[^()]*\)$`)
)

// ParseNodeName returns the task (or step) name and retry attempt of an
// Argo node name: "wf.a.b(0:x)(2)" gives "b", 2.
func ParseNodeName(nodeName string) (task string, attempt int) {
	name := nodeName
	if m := retrySuffix.FindStringSubmatch(name); m != nil {
		attempt, _ = strconv.Atoi(m[1])
		name = strings.TrimSuffix(name, m[0])
	}
	name = itemSuffix.ReplaceAllString(name, "")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return name, attempt
}

// Placeholder is the value reported for an output parameter of the given
// declared type when the test did not choose one: valid JSON for the
// non-string types, so that consumers parsing it (expr conditions,
// ExecutorInput) accept it.
func Placeholder(typ, name string) string {
	switch strings.ToUpper(typ) {
	case "NUMBER_INTEGER", "INT", "INTEGER":
		return "1"
	case "NUMBER_DOUBLE", "DOUBLE", "FLOAT":
		return "0.5"
	case "BOOLEAN", "BOOL":
		return "true"
	case "LIST":
		return "[]"
	case "STRUCT", "DICT":
		return "{}"
	default:
		return "placeholder-" + name
	}
}

// outputs builds the reported outputs: every declared output parameter
// (chosen value, else enum's first value, else placeholder of the declared
// type if TypeOf knows it, else valueFrom.default as when the file is
// missing, else a string placeholder) and every declared output artifact with a key in the archive
// location, computed as the executor would.
func (s *StandIn) outputs(t Task, res Result) (*wfv1.Outputs, map[string]string) {
	values := map[string]string{}
	out := &wfv1.Outputs{}
	code := strconv.Itoa(res.ExitCode)
	out.ExitCode = &code
	if res.ExitCode != 0 {
		// A failed task reports no outputs; the node fails anyway.
		return out, values
	}
	tmpl := t.Template
	for _, p := range tmpl.Outputs.Parameters {
		v, ok := res.Outputs[p.Name]
		if !ok && len(p.Enum) > 0 {
			v, ok = p.Enum[0].String(), true
		}
		if !ok {
			typ := ""
			if s.opts.TypeOf != nil {
				typ = s.opts.TypeOf(t, p.Name)
			}
			if typ == "" && p.ValueFrom != nil && p.ValueFrom.Default != nil {
				v = p.ValueFrom.Default.String()
			} else {
				v = Placeholder(typ, p.Name)
			}
		}
		values[p.Name] = v
		out.Parameters = append(out.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr(v)})
	}
	if tmpl.Script != nil {
		r, ok := res.Outputs["result"]
		if !ok {
			r = Placeholder("", "result")
		}
		out.Result = &r
		values["result"] = r
	}
	for _, a := range tmpl.Outputs.Artifacts {
		a := *a.DeepCopy()
		if !a.HasKey() && tmpl.ArchiveLocation != nil && tmpl.ArchiveLocation.HasLocation() {
			key, err := tmpl.ArchiveLocation.GetKey()
			loc, err2 := tmpl.ArchiveLocation.Get()
			if err == nil && err2 == nil && a.SetType(loc) == nil {
				_ = a.SetKey(path.Join(key, artifactFileName(a)))
			}
		}
		out.Artifacts = append(out.Artifacts, a)
	}
	return out, values
}

// artifactFileName is the object name the executor would upload to.
func artifactFileName(a wfv1.Artifact) string {
	switch {
	case a.Archive != nil && a.Archive.None != nil:
		return filepath.Base(a.Path)
	case a.Archive != nil && a.Archive.Zip != nil:
		return a.Name + ".zip"
	default:
		return a.Name + ".tgz"
	}
}

// report creates the task result the wait container would create.
func (s *StandIn) report(ctx context.Context, pod *corev1.Pod, t Task, outputs *wfv1.Outputs) error {
	tr := &wfv1.WorkflowTaskResult{
		ObjectMeta: metav1.ObjectMeta{
			Name:      t.NodeID,
			Namespace: pod.Namespace,
			Labels: map[string]string{
				labelWorkflow:         t.Workflow,
				labelOutputsCompleted: "true",
			},
		},
		NodeResult: wfv1.NodeResult{Outputs: outputs},
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == workflow.WorkflowKind {
			tr.OwnerReferences = []metav1.OwnerReference{{APIVersion: workflow.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID}}
		}
	}
	_, err := s.argo.ArgoprojV1alpha1().WorkflowTaskResults(pod.Namespace).Create(ctx, tr, metav1.CreateOptions{})
	if apierr.IsAlreadyExists(err) {
		// A restarted stand-in meets its own earlier report.
		return nil
	}
	return err
}
