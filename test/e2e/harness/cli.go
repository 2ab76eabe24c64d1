//go:build e2e

// Package harness is what both e2e lanes (test/e2e on kwok, test/e2e/realpods on real pods) do with a
// started cluster: run the kfp-argo binary as a user would, wait for workflows, and say what they did in
// failure messages.
package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

// CLI is the kfp-argo binary of this checkout, run against one cluster.
type CLI struct {
	cluster *cluster.Cluster
	timeout time.Duration
	build   func() (string, error)
}

// NewCLI builds cmd/kfp-argo on first use, once, into the cluster's work directory (which Stop removes; the
// module cache is warm, so this needs no network). Each run may take up to timeout.
func NewCLI(c *cluster.Cluster, timeout time.Duration) *CLI {
	return &CLI{cluster: c, timeout: timeout, build: sync.OnceValues(func() (string, error) {
		root, err := cluster.RepoRoot()
		if err != nil {
			return "", err
		}
		bin := filepath.Join(c.WorkDir(), "kfp-argo")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/kfp-argo")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build ./cmd/kfp-argo: %v\n%s", err, out)
		}
		return bin, nil
	})}
}

// Binary is the built binary's path, for tests that run it their own way.
func (c *CLI) Binary() (string, error) { return c.build() }

// Run runs kfp-argo with args against the cluster (--kubeconfig and -n added, $KUBECONFIG cleared) and returns
// stdout, stderr and the error of a non-zero exit.
func (c *CLI) Run(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	bin, err := c.Binary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--kubeconfig", c.cluster.Kubeconfig(), "-n", c.cluster.Namespace())...)
	cmd.Env = append(os.Environ(), "KUBECONFIG=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
