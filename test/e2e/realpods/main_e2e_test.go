//go:build e2e

// Package realpods runs compiled pipelines on real pods: a real kubelet with
// containerd and runc, Argo's real executor, KFP's real SDK executor in the
// Python image, and versitygw as the S3 artifact repository
// (cluster.RealPods). The test binary, and with it the whole stack and every
// pod (they share containerd's host network namespace), runs in a network
// namespace of its own whose only interface is `lo`: no packet can leave
// loopback. See docs/e2e.md.
package realpods

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
)

// netnsEnv marks the re-executed test binary inside its own network
// namespace; HostNetEnv=1 skips the namespace (debugging with host tools).
const (
	netnsEnv   = "KFP_ARGO_E2E_IN_NETNS"
	HostNetEnv = "KFP_ARGO_E2E_HOSTNET"
)

var env struct {
	cluster *cluster.Cluster
	kube    kubernetes.Interface
	argo    argoclient.Interface
	ns      string
	s3      *cluster.S3
	cli     *harness.CLI
}

func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" && os.Getenv(HostNetEnv) != "1" {
		os.Exit(reexecInNetns())
	}
	os.Exit(run(m))
}

// reexecInNetns runs this test binary again, with the same arguments, in a
// new network namespace, and returns its exit code. A new namespace has only
// `lo`, and it is down: the child brings it up first.
func reexecInNetns() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "realpods:", err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	// Forward Ctrl-C / CI cancellation so the child can stop its cluster.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "realpods: re-exec in a new network namespace (needs root):", err)
		return 1
	}
	go func() {
		for s := range sig {
			_ = cmd.Process.Signal(s)
		}
	}()
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "realpods:", err)
		return 1
	}
	return 0
}

// loopbackOnly brings `lo` up and checks that it is the only interface.
func loopbackOnly() error {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %w: %s", err, out)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("interface %s in the test's network namespace", i.Name)
		}
	}
	return nil
}

func run(m *testing.M) int {
	if os.Getenv(netnsEnv) != "" {
		if err := loopbackOnly(); err != nil {
			fmt.Fprintln(os.Stderr, "realpods:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "realpods: running in a network namespace with only lo")
	}
	began := time.Now()
	c, err := cluster.Start(context.Background(), cluster.Options{
		Pods: cluster.RealPods,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "realpods: starting the cluster:", err)
		return 1
	}
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "realpods: cluster with a real node up in %.1fs\n", time.Since(began).Seconds())
	harness.StopOnSignal("realpods", c, nil)
	env.cluster, env.ns, env.s3 = c, c.Namespace(), c.S3()
	env.kube = kubernetes.NewForConfigOrDie(c.RESTConfig())
	env.argo = argoclient.NewForConfigOrDie(c.RESTConfig())
	env.cli = harness.NewCLI(c, 8*time.Minute)

	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "realpods: tests failed; logs of every process follow")
		c.DumpLogs(os.Stderr, 20000)
	}
	return code
}
