package syncer

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the controller's Prometheus metrics, registered on their own registry (no global state).
type Metrics struct {
	Registry *prometheus.Registry

	Reconciles    *prometheus.CounterVec // by result: ok, error, deleted, not_found
	Errors        prometheus.Counter
	RecordWrites  prometheus.Counter
	WritesSkipped prometheus.Counter
	SyncLag       prometheus.Histogram
	QueueAdds     prometheus.Counter
}

// NewMetrics creates the metrics and registers them, with the Go and process collectors, on a new registry.
// queueDepth is read at scrape time; nil reports 0.
func NewMetrics(queueDepth func() int) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfp_argo_sync_reconciles_total",
			Help: "Reconciles of one workflow key, by result (synced, deleted, error).",
		}, []string{"result"}),
		Errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kfp_argo_sync_errors_total",
			Help: "Reconciles that failed and were requeued with backoff.",
		}),
		RecordWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kfp_argo_sync_record_writes_total",
			Help: "Run record ConfigMap creates and updates.",
		}),
		WritesSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kfp_argo_sync_record_writes_skipped_total",
			Help: "Reconciles that wrote nothing because the record was already up to date.",
		}),
		SyncLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kfp_argo_sync_lag_seconds",
			Help:    "Time from a workflow event being queued to its record being reconciled.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		QueueAdds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kfp_argo_sync_queue_adds_total",
			Help: "Keys added to the work queue.",
		}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kfp_argo_sync_queue_depth",
		Help: "Keys waiting in the work queue.",
	}, func() float64 {
		if queueDepth == nil {
			return 0
		}
		return float64(queueDepth())
	})
	m.Registry.MustRegister(m.Reconciles, m.Errors, m.RecordWrites, m.WritesSkipped, m.SyncLag, m.QueueAdds, depth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
