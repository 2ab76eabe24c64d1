package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Status is what the health endpoints report: /healthz answers 200 while the process serves; /readyz answers
// 200 once the workflow cache has synced, or while the replica stands by for leadership (a standby is
// healthy and must not block a rollout).
type Status struct {
	standby    atomic.Bool
	controller atomic.Pointer[Controller]
}

// SetStandby marks the replica as waiting for leadership.
func (s *Status) SetStandby(v bool) { s.standby.Store(v) }

// SetController names the running controller, whose cache decides readiness.
func (s *Status) SetController(c *Controller) { s.controller.Store(c) }

// Ready reports readiness (see Status).
func (s *Status) Ready() bool {
	if s.standby.Load() {
		return true
	}
	c := s.controller.Load()
	return c != nil && c.Ready()
}

// Handler serves /healthz, /readyz and /metrics (metrics of the given controller's registry).
func Handler(st *Status, m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !st.Ready() {
			http.Error(w, "workflow cache not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	return mux
}

// Serve listens on addr and serves h until ctx ends. It returns the bound address through bound (useful
// with port 0) before serving.
func Serve(ctx context.Context, addr string, h http.Handler, bound func(net.Addr)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	if bound != nil {
		bound(ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("metrics server: %w", err)
}

// LeaderOptions configure leader election on a coordination.k8s.io Lease.
type LeaderOptions struct {
	Namespace     string
	Name          string
	Identity      string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Logger        *slog.Logger
}

// RunLeader runs fn while this replica holds the Lease. fn's context ends when leadership is lost or ctx
// ends; RunLeader returns when ctx ends or leadership is lost (then with an error, so the process exits and
// restarts as a standby: two replicas never write at once). The Lease is released on a clean shutdown.
func RunLeader(ctx context.Context, kube kubernetes.Interface, o LeaderOptions, st *Status, fn func(context.Context) error) error {
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Name},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	// fn runs in the elector's goroutine; started/closed under mu make sure RunLeader returns only after fn
	// has returned (the workers have drained), and that fn never starts after RunLeader decided to return.
	var (
		mu              sync.Mutex
		started, closed bool
		runErr          error
	)
	fnDone := make(chan struct{})
	st.SetStandby(true)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.LeaseDuration,
		RenewDeadline:   o.RenewDeadline,
		RetryPeriod:     o.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            o.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(c context.Context) {
				mu.Lock()
				if closed {
					mu.Unlock()
					return
				}
				started = true
				mu.Unlock()
				defer close(fnDone)
				st.SetStandby(false)
				o.Logger.Info("leading", "lease", o.Namespace+"/"+o.Name, "identity", o.Identity)
				err := fn(c)
				mu.Lock()
				runErr = err
				mu.Unlock()
				cancel()
			},
			OnStoppedLeading: func() {
				o.Logger.Info("stopped leading", "identity", o.Identity)
			},
			OnNewLeader: func(id string) {
				if id != o.Identity {
					o.Logger.Info("standing by", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(lctx)
	mu.Lock()
	closed = true
	wasStarted := started
	mu.Unlock()
	if wasStarted {
		<-fnDone // the controller has drained its workers
	}
	mu.Lock()
	err = runErr
	mu.Unlock()
	if err != nil {
		return err
	}
	if ctx.Err() == nil {
		return errors.New("leader election: lease lost")
	}
	return nil
}
