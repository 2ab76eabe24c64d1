//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/syncer"
)

// Benchmarks of the sync controller against the real apiserver. The Workflows live in a namespace the Argo
// controller does not manage, and the benchmark drives their status itself (Pending -> Running ->
// Succeeded), so what is measured is sync, not Argo. Run once each (-benchtime 1x); see docs/benchmarks.md.

func benchNamespace(b *testing.B, name string) {
	b.Helper()
	ctx := context.Background()
	_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
}

func benchClients(b *testing.B, ns string) *argo.Clients {
	b.Helper()
	cfg := rest.CopyConfig(env.cluster.RESTConfig())
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := argo.NewClientsForConfig(cfg, ns)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchWorkflow(ns, name string) *wfv1.Workflow {
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			experiments.LabelRun: name, experiments.LabelExperiment: "bench",
		}, Annotations: map[string]string{experiments.AnnotationExperiment: "bench"}},
		Spec: wfv1.WorkflowSpec{Entrypoint: "main", Templates: []wfv1.Template{{Name: "main",
			Container: &corev1.Container{Image: "busybox", Command: []string{"true"}}}}},
	}
}

// parallel runs fn(i) for i in [0, n) on k goroutines and returns the first error.
func parallel(n, k int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func counter(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

func cleanupNamespace(b *testing.B, c *argo.Clients) {
	ctx := context.Background()
	_ = c.Argo.ArgoprojV1alpha1().Workflows(c.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = c.Kube.CoreV1().ConfigMaps(c.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: experiments.LabelKind + "=" + experiments.KindRun})
}

// BenchmarkSyncLifecycle1000: 1,000 Workflows, each created (Pending), then Running, then Succeeded (3
// events), with the controller running; reports workflow updates applied per second and ConfigMap writes per
// run lifecycle. "burst" drives each Workflow through its states as fast as the API allows (the queue
// coalesces a key's events); "paced" waits 500 ms between a Workflow's transitions, 100 Workflows at a time.
func BenchmarkSyncLifecycle1000(b *testing.B) {
	b.Run("burst", func(b *testing.B) { benchLifecycle(b, 1000, 32, 0) })
	b.Run("paced", func(b *testing.B) { benchLifecycle(b, 1000, 100, 500*time.Millisecond) })
}

func benchLifecycle(b *testing.B, n, drivers int, pace time.Duration) {
	ctx := context.Background()
	for it := 0; it < b.N; it++ {
		ns := fmt.Sprintf("kfp-bench-%d-%d", pace.Milliseconds(), it)
		benchNamespace(b, ns)
		c := benchClients(b, ns)
		ctrl := syncer.New(c.Kube, c.Argo, syncer.Options{Namespace: ns, Workers: 8, Resync: -1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ctrl.Run(cctx) }()
		for !ctrl.Ready() {
			time.Sleep(10 * time.Millisecond)
		}
		wfs := c.Argo.ArgoprojV1alpha1().Workflows(ns)
		began := time.Now()
		err := parallel(n, drivers, func(i int) error {
			name := fmt.Sprintf("bench-%04d", i)
			wf, err := wfs.Create(ctx, benchWorkflow(ns, name), metav1.CreateOptions{})
			if err != nil {
				return err
			}
			time.Sleep(pace)
			now := metav1.Now()
			wf.Status.Phase, wf.Status.StartedAt = wfv1.WorkflowRunning, now
			if wf, err = wfs.Update(ctx, wf, metav1.UpdateOptions{}); err != nil {
				return err
			}
			time.Sleep(pace)
			wf.Status.Phase, wf.Status.FinishedAt = wfv1.WorkflowSucceeded, metav1.Now()
			_, err = wfs.Update(ctx, wf, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		driven := time.Since(began)
		store := experiments.NewStore(c.Kube.CoreV1().ConfigMaps(ns))
		for {
			runs, err := store.ListRuns(ctx, experiments.RunFilter{State: experiments.StateSucceeded})
			if err != nil {
				b.Fatal(err)
			}
			if len(runs) == n {
				break
			}
			if time.Since(began) > 10*time.Minute {
				b.Fatalf("%d of %d records SUCCEEDED after 10 minutes", len(runs), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(began)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		m := ctrl.Metrics()
		writes, skipped := counter(m.RecordWrites), counter(m.WritesSkipped)
		b.ReportMetric(float64(3*n)/elapsed.Seconds(), "wf-updates/s")
		b.ReportMetric(writes/float64(n), "cm-writes/run")
		b.ReportMetric(skipped/float64(n), "skipped/run")
		b.ReportMetric(elapsed.Seconds(), "s-to-all-final")
		b.Logf("%d workflows: driven in %.1fs, all records SUCCEEDED after %.1fs; %v record writes, %v skipped, %v reconcile errors",
			n, driven.Seconds(), elapsed.Seconds(), writes, skipped, counter(m.Errors))
		cleanupNamespace(b, c)
	}
}

// BenchmarkSyncMemory10000: heap of a controller that watches 10,000 finished Workflows, measured after its
// first pass has created their 10,000 records (the Workflows have none at the start) and its queue is empty.
func BenchmarkSyncMemory10000(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	ns := "kfp-bench-mem"
	benchNamespace(b, ns)
	c := benchClients(b, ns)
	wfs := c.Argo.ArgoprojV1alpha1().Workflows(ns)
	began := time.Now()
	if err := parallel(n, 32, func(i int) error {
		wf := benchWorkflow(ns, fmt.Sprintf("mem-%05d", i))
		wf.Status.Phase = wfv1.WorkflowSucceeded
		_, err := wfs.Create(ctx, wf, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d workflows in %.1fs", n, time.Since(began).Seconds())
	for it := 0; it < b.N; it++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctrl := syncer.New(c.Kube, c.Argo, syncer.Options{Namespace: ns, Workers: 16, Resync: -1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- ctrl.Run(cctx) }()
		for !ctrl.Ready() {
			time.Sleep(10 * time.Millisecond)
		}
		synced := time.Since(start)
		// First pass creates the records; wait for the queue to drain.
		var reconciles float64
		for {
			var m dto.Metric
			_ = ctrl.Metrics().Reconciles.WithLabelValues("synced").Write(&m)
			reconciles = m.GetCounter().GetValue()
			if reconciles >= n || time.Since(start) > 10*time.Minute {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		drained := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		b.ReportMetric(heap/(1<<20), "heap-MiB")
		b.ReportMetric(heap/n, "heap-B/wf")
		b.Logf("cache synced in %.1fs, %v reconciles in %.1fs; heap %+.1f MiB (%.0f B per workflow), %v writes",
			synced.Seconds(), reconciles, drained.Seconds(), heap/(1<<20), heap/n, counter(ctrl.Metrics().RecordWrites))
	}
	cleanupNamespace(b, c)
}
