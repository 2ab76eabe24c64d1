// Package syncer is the `kfp-argo sync` controller: it keeps run records (experiments.Store) true to their
// Workflows without anyone running the CLI. A shared informer watches Workflows that carry the run label;
// events put namespace/name keys on a rate-limited work queue; N workers reconcile each key level-triggered
// (experiments.Store.ReconcileRun computes the record from the Workflow and writes only if it changed). A
// Workflow that is gone leaves a non-terminal record in WORKFLOW_DELETED, with the reason.
package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	wfinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	wflisters "github.com/argoproj/argo-workflows/v3/pkg/client/listers/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/translate"
)

// Finalizer is put on run Workflows in finalizer mode, so a Workflow cannot disappear before its final state
// is in its record.
const Finalizer = "kfp-argo.io/sync"

// Options configure a Controller.
type Options struct {
	// Namespace to watch; empty means all namespaces.
	Namespace string
	// Workers reconcile keys in parallel (default 4).
	Workers int
	// Resync is the period of the full resync: every cached Workflow is queued again and non-terminal
	// records are checked against their Workflows (default 5m; negative disables).
	Resync time.Duration
	// Finalizer turns on finalizer mode (see Finalizer).
	Finalizer bool
	// Logger gets structured logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the store's clock (default time.Now).
	Now func() time.Time
	// MaxRetries bounds how often one key is retried with backoff before it waits for the next event or
	// resync (default 15).
	MaxRetries int
}

// Controller is one sync controller. Run it once.
type Controller struct {
	kube  kubernetes.Interface
	argo  wfclientset.Interface
	opts  Options
	log   *slog.Logger
	queue workqueue.TypedRateLimitingInterface[string]
	// factories, informers and listers: one per selector of experiments.RunSelectors.
	factories []wfinformers.SharedInformerFactory
	informers []cache.SharedIndexInformer
	listers   []wflisters.WorkflowLister
	// informer is the cache of compiled Workflows (informers[0]).
	informer cache.SharedIndexInformer
	metrics  *Metrics
	synced   atomic.Bool

	mu sync.Mutex
	// queuedAt is when a key was first queued since it was last reconciled (sync lag).
	queuedAt map[string]time.Time
	// tombstones are the last states of deleted Workflows, so a final status seen only in the delete event
	// still reaches the record.
	tombstones map[string]*wfv1.Workflow
}

// New builds a controller over the given clients.
func New(kube kubernetes.Interface, argo wfclientset.Interface, opts Options) *Controller {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Resync == 0 {
		opts.Resync = 5 * time.Minute
	}
	if opts.Resync < 0 {
		opts.Resync = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 15
	}
	c := &Controller{
		kube: kube, argo: argo, opts: opts, log: opts.Logger,
		queuedAt:   map[string]time.Time{},
		tombstones: map[string]*wfv1.Workflow{},
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "kfp-argo-sync"})
	c.metrics = NewMetrics(c.queue.Len)
	// One informer per selector of experiments.RunSelectors: compiled Workflows first (c.informer), then
	// plain ones with the run label. The selectors are disjoint, so no Workflow is in two caches.
	for _, sel := range experiments.RunSelectors() {
		selector := sel.String()
		f := wfinformers.NewSharedInformerFactoryWithOptions(argo, opts.Resync,
			wfinformers.WithNamespace(opts.Namespace),
			wfinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
		wfInformer := f.Argoproj().V1alpha1().Workflows()
		c.factories = append(c.factories, f)
		c.informers = append(c.informers, wfInformer.Informer())
		c.listers = append(c.listers, wfInformer.Lister())
	}
	c.informer = c.informers[0]
	return c
}

// cached returns a Workflow from the informer caches.
func (c *Controller) cached(ns, name string) (*wfv1.Workflow, error) {
	var err error
	for _, l := range c.listers {
		var wf *wfv1.Workflow
		if wf, err = l.Workflows(ns).Get(name); err == nil || !apierrors.IsNotFound(err) {
			return wf, err
		}
	}
	return nil, err
}

func (c *Controller) cachedCount() int {
	n := 0
	for _, inf := range c.informers {
		n += len(inf.GetStore().ListKeys())
	}
	return n
}

// Metrics returns the controller's metrics.
func (c *Controller) Metrics() *Metrics { return c.metrics }

// Ready reports whether the informer cache has synced.
func (c *Controller) Ready() bool { return c.synced.Load() }

func (c *Controller) enqueue(key string) {
	c.mu.Lock()
	if _, ok := c.queuedAt[key]; !ok {
		c.queuedAt[key] = c.opts.Now()
	}
	c.mu.Unlock()
	c.metrics.QueueAdds.Inc()
	c.queue.Add(key)
}

func (c *Controller) enqueueObj(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		c.log.Error("cannot key object", "error", err)
		return
	}
	c.enqueue(key)
}

func (c *Controller) onDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if wf, ok := obj.(*wfv1.Workflow); ok && wf != nil {
		c.mu.Lock()
		c.tombstones[wf.Namespace+"/"+wf.Name] = wf
		c.mu.Unlock()
	}
	c.enqueueObj(obj)
}

// onUpdate keeps the earlier Workflow as a tombstone when the update replaced it by another of the same
// name (deleted and re-created while the watch was down): its last state still ends the earlier run.
func (c *Controller) onUpdate(oldObj, newObj any) {
	oldWf, ok1 := oldObj.(*wfv1.Workflow)
	newWf, ok2 := newObj.(*wfv1.Workflow)
	if ok1 && ok2 && oldWf.UID != newWf.UID {
		c.mu.Lock()
		c.tombstones[oldWf.Namespace+"/"+oldWf.Name] = oldWf
		c.mu.Unlock()
	}
	c.enqueueObj(newObj)
}

// Run starts the informer and the workers and blocks until ctx ends; then it stops taking work, lets the
// workers finish the keys they hold and returns. The returned error is nil on a clean shutdown.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	synced := make([]cache.InformerSynced, 0, len(c.informers))
	for _, inf := range c.informers {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueObj,
			UpdateFunc: c.onUpdate,
			DeleteFunc: c.onDelete,
		}); err != nil {
			return fmt.Errorf("sync: add event handler: %w", err)
		}
		synced = append(synced, inf.HasSynced)
	}
	for _, f := range c.factories {
		f.Start(ctx.Done())
	}
	c.log.Info("waiting for workflow cache", "namespace", nsName(c.opts.Namespace))
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("sync: workflow cache did not sync")
	}
	c.synced.Store(true)
	c.log.Info("workflow cache synced", "workflows", c.cachedCount(), "workers", c.opts.Workers)

	var wg sync.WaitGroup
	for i := 0; i < c.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	// Records whose Workflow vanished while nobody watched: on start and every resync.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.sweepLoop(ctx)
	}()
	<-ctx.Done()
	c.log.Info("shutting down: draining workers")
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("sync stopped")
	return nil
}

func (c *Controller) sweepLoop(ctx context.Context) {
	for {
		if err := c.Sweep(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("record sweep failed", "error", err)
		}
		if c.opts.Resync <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.opts.Resync):
		}
	}
}

// Sweep queues every non-terminal run record, so records whose Workflow is gone (deleted while the
// controller was down) reach WORKFLOW_DELETED.
func (c *Controller) Sweep(ctx context.Context) error {
	namespaces := []string{c.opts.Namespace}
	if c.opts.Namespace == "" {
		sel := labels.Set{translate.LabelManagedBy: translate.ManagedByValue, experiments.LabelKind: experiments.KindRun}
		cms, err := c.kube.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return fmt.Errorf("sweep: list run records: %w", err)
		}
		namespaces = nil
		for _, cm := range cms.Items {
			if !slices.Contains(namespaces, cm.Namespace) {
				namespaces = append(namespaces, cm.Namespace)
			}
		}
	}
	var errs []error
	for _, ns := range namespaces {
		runs, err := c.store(ns).ListRuns(ctx, experiments.RunFilter{})
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep namespace %q: %w", ns, err))
		}
		for _, r := range runs {
			if !r.State.Terminal() {
				c.enqueue(ns + "/" + r.Name)
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) store(ns string) *experiments.Store {
	return experiments.NewStore(c.kube.CoreV1().ConfigMaps(ns), experiments.WithClock(c.opts.Now))
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	c.mu.Lock()
	queued, hadTime := c.queuedAt[key]
	delete(c.queuedAt, key)
	c.mu.Unlock()

	err := c.Reconcile(ctx, key)
	switch {
	case err == nil:
		c.queue.Forget(key)
		if hadTime {
			c.metrics.SyncLag.Observe(c.opts.Now().Sub(queued).Seconds())
		}
	case ctx.Err() != nil:
		// Shutting down: the next leader or start picks the key up from its Workflow.
	default:
		c.metrics.Errors.Inc()
		c.metrics.Reconciles.WithLabelValues("error").Inc()
		if c.queue.NumRequeues(key) < c.opts.MaxRetries {
			c.log.Warn("reconcile failed, retrying", "key", key, "error", err, "requeues", c.queue.NumRequeues(key))
			c.mu.Lock()
			if _, ok := c.queuedAt[key]; !ok && hadTime {
				c.queuedAt[key] = queued
			}
			c.mu.Unlock()
			c.queue.AddRateLimited(key)
		} else {
			c.log.Error("reconcile failed, giving up until the next event or resync", "key", key, "error", err)
			c.queue.Forget(key)
		}
	}
	return true
}

// Reconcile brings the record of one Workflow key (namespace/name) up to date.
func (c *Controller) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("reconcile %q: %w", key, err)
	}
	store := c.store(ns)
	wf, err := c.cached(ns, name)
	if apierrors.IsNotFound(err) {
		// The cache can lag a Workflow created just before its record: ask the API server before calling
		// it gone.
		if wf, err = c.live(ctx, ns, name); err == nil && wf == nil {
			return c.workflowGone(ctx, store, key, name)
		}
	}
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", key, err)
	}
	c.mu.Lock()
	last := c.tombstones[key]
	if last != nil && last.UID == wf.UID {
		// The Workflow is back in the cache: its deletion was not final, or the event was older. A tombstone
		// of another UID stays until this reconcile is done: it is the earlier run's last state (SupersedeRun).
		delete(c.tombstones, key)
		last = nil
	}
	c.mu.Unlock()
	if !experiments.IsRun(wf) {
		return nil // not a run (label removed, or a live read of another workflow)
	}

	// Update only: one read of the record, the one the write is based on.
	run, wrote, err := store.SyncRun(ctx, wf)
	if errors.Is(err, experiments.ErrNotFound) {
		// No record. One is created only from a Workflow the API server still has: the cache (and a resync,
		// which re-delivers the cache) can hold a Workflow that `run delete` removed with its record.
		if wf, err = c.live(ctx, ns, name); err != nil {
			return fmt.Errorf("reconcile %s: %w", key, err)
		} else if wf == nil {
			return c.workflowGone(ctx, store, key, name)
		}
		if !experiments.IsRun(wf) {
			return nil
		}
		if wf.DeletionTimestamp != nil {
			// On its way out with its record gone: deleted together with its record (`run delete`); a record
			// recreated now would outlive the run the user deleted.
			if err := c.manageFinalizer(ctx, wf, true); err != nil {
				return fmt.Errorf("reconcile %s: %w", key, err)
			}
			c.metrics.Reconciles.WithLabelValues("deleted").Inc()
			return nil
		}
		run, wrote, err = store.AdoptRun(ctx, wf, c.liveIn(ns))
	}
	if errors.Is(err, experiments.ErrWorkflowMismatch) {
		// The record is another execution's under the same name. Only the API server can say which is
		// current: the cache may be the stale one.
		if wf, err = c.live(ctx, ns, name); err != nil {
			return fmt.Errorf("reconcile %s: %w", key, err)
		} else if wf == nil {
			return c.workflowGone(ctx, store, key, name)
		}
		run, wrote, err = store.SupersedeRun(ctx, wf, last, c.liveIn(ns))
		if err != nil {
			return fmt.Errorf("reconcile %s: %w", key, err)
		}
		if wrote {
			c.log.Info("workflow re-created under the same name: earlier run's record kept as superseded", "key", key,
				"uid", wf.UID)
		}
		c.metrics.Reconciles.WithLabelValues("superseded").Inc()
	}
	if err != nil {
		return err
	}
	c.countWrite(wrote)
	if wf.DeletionTimestamp != nil && !run.State.Terminal() {
		// Being deleted (finalizer mode, or a foreground deletion) before it finished: this is its last state.
		run, wrote, err = store.MarkRunWorkflowDeleted(ctx, name, deletedReason(run.State))
		if err != nil {
			return fmt.Errorf("reconcile %s: %w", key, err)
		}
		c.countWrite(wrote)
	}
	if err := c.manageFinalizer(ctx, wf, run.State.Terminal()); err != nil {
		return fmt.Errorf("reconcile %s: %w", key, err)
	}
	// The record tracks wf now: an earlier Workflow's last state has nothing more to tell.
	c.dropTombstone(key, last)
	c.metrics.Reconciles.WithLabelValues("synced").Inc()
	if wrote {
		c.log.Debug("record updated", "key", key, "state", run.State)
	}
	return nil
}

// live reads a Workflow from the API server rather than the cache; nil when it is gone.
func (c *Controller) live(ctx context.Context, ns, name string) (*wfv1.Workflow, error) {
	wf, err := c.argo.ArgoprojV1alpha1().Workflows(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get workflow: %w", err)
	}
	return wf, nil
}

// liveIn is live for one namespace, as the record store asks for it.
func (c *Controller) liveIn(ns string) experiments.LiveWorkflow {
	return func(ctx context.Context, name string) (*wfv1.Workflow, error) { return c.live(ctx, ns, name) }
}

func (c *Controller) countWrite(wrote bool) {
	if wrote {
		c.metrics.RecordWrites.Inc()
	} else {
		c.metrics.WritesSkipped.Inc()
	}
}

func deletedReason(last experiments.State) string {
	return fmt.Sprintf("workflow deleted before its final state was recorded (last recorded state %s)", last)
}

// workflowGone handles a key whose Workflow no longer exists: the last state the informer saw (if any) is
// recorded first, then a record that is still not terminal becomes WORKFLOW_DELETED.
func (c *Controller) workflowGone(ctx context.Context, store *experiments.Store, key, name string) error {
	c.mu.Lock()
	last := c.tombstones[key]
	c.mu.Unlock()
	if last != nil {
		// Update only: a record that is gone went with its run (`run delete`) and must stay gone.
		_, wrote, err := store.SyncRun(ctx, last)
		switch {
		case errors.Is(err, experiments.ErrWorkflowMismatch), errors.Is(err, experiments.ErrNotFound):
		case err != nil:
			return fmt.Errorf("reconcile deleted workflow %s: %w", key, err)
		default:
			c.countWrite(wrote)
		}
	}
	run, err := store.GetRun(ctx, name)
	if errors.Is(err, experiments.ErrNotFound) {
		c.dropTombstone(key, last)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reconcile deleted workflow %s: %w", key, err)
	}
	if !run.State.Terminal() {
		run, wrote, err := store.MarkRunWorkflowDeleted(ctx, name, deletedReason(run.State))
		if err != nil {
			return fmt.Errorf("reconcile deleted workflow %s: %w", key, err)
		}
		c.countWrite(wrote)
		c.log.Info("workflow gone before its final state: record marked", "key", key, "state", run.State)
	}
	c.dropTombstone(key, last)
	c.metrics.Reconciles.WithLabelValues("deleted").Inc()
	return nil
}

func (c *Controller) dropTombstone(key string, seen *wfv1.Workflow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tombstones[key] == seen {
		delete(c.tombstones, key)
	}
}

// manageFinalizer adds Finalizer to a running Workflow and removes it once its record is terminal (also
// when finalizer mode is off, so turning the mode off never strands a Workflow).
func (c *Controller) manageFinalizer(ctx context.Context, wf *wfv1.Workflow, terminal bool) error {
	has := slices.Contains(wf.Finalizers, Finalizer)
	switch {
	case has && (terminal || !c.opts.Finalizer):
		fins := slices.DeleteFunc(slices.Clone(wf.Finalizers), func(f string) bool { return f == Finalizer })
		return c.patchFinalizers(ctx, wf, fins)
	case !has && !terminal && c.opts.Finalizer && wf.DeletionTimestamp == nil:
		return c.patchFinalizers(ctx, wf, append(slices.Clone(wf.Finalizers), Finalizer))
	}
	return nil
}

// patchFinalizers writes the finalizer list with the read's resourceVersion (a conflict is retried through
// the queue with a fresh read).
func (c *Controller) patchFinalizers(ctx context.Context, wf *wfv1.Workflow, fins []string) error {
	if fins == nil {
		fins = []string{}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": fins, "resourceVersion": wf.ResourceVersion,
	}})
	if err != nil {
		return fmt.Errorf("finalizer patch: %w", err)
	}
	_, err = c.argo.ArgoprojV1alpha1().Workflows(wf.Namespace).Patch(ctx, wf.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("set finalizers of workflow %s/%s: %w", wf.Namespace, wf.Name, err)
	}
	return nil
}

func nsName(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}
