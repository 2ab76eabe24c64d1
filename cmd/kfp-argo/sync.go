package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/syncer"
)

// syncOptions are the flags of `kfp-argo sync`.
type syncOptions struct {
	kubeconfig, context, namespace string
	allNamespaces                  bool
	workers                        int
	resync                         time.Duration
	finalizer                      bool
	qps                            float32
	burst                          int
	metricsAddr                    string
	leaderElect                    bool
	leaderNamespace, leaderName    string
	leaseDuration, renewDeadline   time.Duration
	retryPeriod                    time.Duration
	logFormat, logLevel            string
}

func newSyncCommand() *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Run the controller that keeps run records up to date with their Workflows",
		Long: `Watches Workflows that carry the kfp-argo.io/run label and keeps each run record (ConfigMap) true to
its Workflow: records are created for Workflows that have none, written only when something changed, and a
run whose Workflow disappears before its final state was recorded ends in WORKFLOW_DELETED. Stops cleanly on
SIGTERM or SIGINT. See docs/sync.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return o.run(ctx, cmd.ErrOrStderr(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	f.StringVar(&o.context, "context", "", "kubeconfig context to use")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace to watch (default: the context's, in a pod its own)")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "watch every namespace (needs the cluster-wide RBAC)")
	f.IntVar(&o.workers, "workers", 4, "reconcile workers")
	f.DurationVar(&o.resync, "resync", 5*time.Minute, "full resync period (0 disables)")
	f.BoolVar(&o.finalizer, "finalizer", false, "put the kfp-argo.io/sync finalizer on running workflows until their final state is recorded")
	f.Float32Var(&o.qps, "kube-api-qps", 20, "client-side queries per second to the API server")
	f.IntVar(&o.burst, "kube-api-burst", 40, "client-side burst to the API server")
	f.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:9090", "address of /metrics, /healthz and /readyz (empty disables; use :9090 in a pod)")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader through a Lease, so only one replica writes")
	f.StringVar(&o.leaderNamespace, "leader-elect-namespace", "", "namespace of the Lease (default: the watched namespace, or the context's)")
	f.StringVar(&o.leaderName, "leader-elect-name", "kfp-argo-sync", "name of the Lease")
	f.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "lease duration")
	f.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "renew deadline")
	f.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "retry period")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func (o *syncOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", o.logLevel, err)
	}
	ho := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format %q: expected text or json", o.logFormat)
}

// run starts the controller (under leader election if asked) and the metrics server, and blocks until ctx
// ends. bound, if not nil, receives the metrics server's address.
func (o *syncOptions) run(ctx context.Context, logOut io.Writer, bound func(net.Addr)) error {
	log, err := o.logger(logOut)
	if err != nil {
		return err
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: must be at least 1", o.workers)
	}
	if o.allNamespaces && o.namespace != "" {
		return fmt.Errorf("--namespace and --all-namespaces are exclusive")
	}
	cfg, ns, err := argo.RESTConfig(argo.ClientOptions{Kubeconfig: o.kubeconfig, Context: o.context, Namespace: o.namespace})
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	cfg.UserAgent = "kfp-argo-sync"
	clients, err := argo.NewClientsForConfig(cfg, ns)
	if err != nil {
		return err
	}
	watchNS := clients.Namespace
	if o.allNamespaces {
		watchNS = ""
	}
	resync := o.resync
	if resync == 0 {
		resync = -1 // syncer: negative disables
	}
	ctrl := syncer.New(clients.Kube, clients.Argo, syncer.Options{
		Namespace: watchNS, Workers: o.workers, Resync: resync, Finalizer: o.finalizer, Logger: log,
	})
	st := &syncer.Status{}
	st.SetController(ctrl)

	// The metrics server and the controller stop together: whichever ends first cancels the other.
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	if o.metricsAddr != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			serveErr = syncer.Serve(gctx, o.metricsAddr, syncer.Handler(st, ctrl.Metrics()), func(a net.Addr) {
				log.Info("serving metrics and health", "addr", a.String())
				if bound != nil {
					bound(a)
				}
			})
		}()
	}
	log.Info("starting sync", "namespace", nsLabel(watchNS), "workers", o.workers, "resync", o.resync,
		"finalizer", o.finalizer, "leaderElect", o.leaderElect)
	runErr := func() error {
		defer cancel()
		if !o.leaderElect {
			return ctrl.Run(gctx)
		}
		leaseNS := o.leaderNamespace
		if leaseNS == "" {
			leaseNS = clients.Namespace
		}
		id, err := identity()
		if err != nil {
			return err
		}
		return syncer.RunLeader(gctx, clients.Kube, syncer.LeaderOptions{
			Namespace: leaseNS, Name: o.leaderName, Identity: id, Logger: log,
			LeaseDuration: o.leaseDuration, RenewDeadline: o.renewDeadline, RetryPeriod: o.retryPeriod,
		}, st, ctrl.Run)
	}()
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	return serveErr
}

func nsLabel(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}

// identity is the hostname (the pod name in a Deployment) plus a random suffix, so two processes on one host
// are distinct lease holders.
func identity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("leader identity: %w", err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("leader identity: %w", err)
	}
	return strings.ToLower(host) + "_" + hex.EncodeToString(b), nil
}
