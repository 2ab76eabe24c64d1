package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/ui"
)

func newUICommand(e *env) *cobra.Command {
	var kube kubeFlags
	var address string
	var all bool
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve a read-only web UI over the experiments and runs of the current kube context",
		Long: `Serves experiments, runs, run details (graph, timeline, tasks, metrics, artifacts, logs) and run
comparisons (parameters, metrics, charts, ROC curves, confusion matrices) on --address, using your own
kube credentials as kubectl does. It writes nothing to the cluster and loads nothing from the internet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, ns, err := argo.RESTConfig(kube.ClientOptions)
			if err != nil {
				return err
			}
			// client-go's default of 5 requests/s would pace the pages: one runs page of 1,000 runs is
			// five list requests (pages of 250 and the experiments), so a few clicks would wait a second each.
			cfg.QPS, cfg.Burst = 50, 100
			c, err := argo.NewClientsForConfig(cfg, ns)
			if err != nil {
				return err
			}
			// Records are ConfigMaps, which the API server also sends as protobuf: a runs page of 1,000
			// runs decodes several times faster than from JSON. Workflows (a CRD) stay JSON.
			pb := rest.CopyConfig(cfg)
			pb.ContentType = "application/vnd.kubernetes.protobuf"
			pb.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
			if c.Kube, err = kubernetes.NewForConfig(pb); err != nil {
				return fmt.Errorf("kubernetes client: %w", err)
			}
			host := cfg.Host
			srv, err := ui.NewServer(ui.Config{Kube: c.Kube, Argo: c.Argo, Namespace: c.Namespace, AllNamespaces: all, APIServer: host, Now: e.now})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", address)
			if err != nil {
				return fmt.Errorf("--address %s: %w", address, err)
			}
			scope := "namespace " + c.Namespace
			if all {
				scope = "all namespaces"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kfp-argo ui: %s at http://%s/ (read-only; Ctrl-C to stop)\n", scope, ln.Addr())
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			done := make(chan error, 1)
			go func() { done <- hs.Serve(ln) }()
			select {
			case err := <-done:
				return fmt.Errorf("serve: %w", err)
			case <-cmd.Context().Done():
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		},
	}
	kube.addFlags(cmd)
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "show the experiments of every namespace you may list")
	cmd.Flags().StringVar(&address, "address", "127.0.0.1:8080", "address to listen on (loopback by default: the UI acts with your credentials)")
	return cmd
}
