//go:build e2e

package harness

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

// StopOnSignal stops the cluster and exits 130 on Ctrl-C or a CI cancel: its processes would die with the test
// binary anyway, but Stop removes its directories too. before, if set, runs first: what must end before the
// apiserver can (watches). lane prefixes the message.
func StopOnSignal(lane string, c *cluster.Cluster, before func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		got := <-sig
		fmt.Fprintf(os.Stderr, "%s: %v: stopping the cluster\n", lane, got)
		if before != nil {
			before()
		}
		_ = c.Stop()
		os.Exit(130)
	}()
}
