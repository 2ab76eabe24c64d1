// Command devcluster runs the e2e stack in the background for people
// (make dev-cluster / make dev-cluster-down). By default pods run for real:
// a kubelet with containerd and runc, on the host network, with versitygw as
// the S3 artifact repository. With -fake-pods they are simulated by kwok and
// their outputs come from the executor stand-in (test code), which gives
// every declared output a placeholder value so that any workflow runs to
// completion.
//
//	devcluster up -state DIR [-fake-pods]  start everything, print `export KUBECONFIG=...`
//	devcluster down -state DIR   stop everything recorded in DIR, by PID
//	devcluster standin ...       the stand-in process (started by up)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: devcluster up|down|standin [flags]")
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "standin":
		err = runStandin(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatalf("devcluster %s: %v", os.Args[1], err)
	}
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("state", "", "state directory (PIDs, kubeconfig, logs)")
	ns := fs.String("namespace", "kfp-e2e", "namespace for workflows")
	fake := fs.Bool("fake-pods", false, "simulate pods with kwok and the executor stand-in instead of running them")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("-state is required")
	}
	if s, err := cluster.ReadState(statePath(*dir)); err == nil {
		for _, p := range s.Processes {
			if cluster.PIDAlive(p.PID, p.Binary) {
				fmt.Fprintf(os.Stderr, "dev cluster already running (%s pid %d); `make dev-cluster-down` stops it\n", p.Name, p.PID)
				fmt.Printf("export KUBECONFIG=%s\n", s.Kubeconfig)
				return nil
			}
		}
	}
	work := filepath.Join(*dir, "cluster")
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	pods := cluster.RealPods
	if *fake {
		pods = cluster.FakePods
	}
	// Ctrl-C (or a timeout's SIGTERM) while starting: Start's error path
	// stops what it started; nothing is recorded for `down` yet.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, cluster.Options{
		Namespace: *ns,
		WorkDir:   work,
		Detached:  true,
		Pods:      pods,
		Logf:      func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	state := c.State()
	// Record the cluster before starting the stand-in so that a failure
	// from here on can still be cleaned up with `down`.
	if err := cluster.WriteState(statePath(*dir), state); err != nil {
		_ = c.Stop()
		return err
	}
	if !*fake {
		fmt.Fprintf(os.Stderr, "dev cluster up: namespace %s, logs in %s\n", *ns, c.LogDir())
		fmt.Fprintf(os.Stderr, "pods run for real on node %s (host network, loopback only); artifacts in S3 at http://%s, bucket %s\n",
			cluster.RealNodeName, c.S3().Endpoint, c.S3().Bucket)
		fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig())
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(c.LogDir(), "standin.log")
	readyPath := filepath.Join(work, "standin.ready")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "standin", "-kubeconfig", c.Kubeconfig(), "-namespace", *ns, "-ready", readyPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	logf.Close()
	state.Processes = append(state.Processes, cluster.ProcessInfo{Name: "standin", PID: cmd.Process.Pid, Binary: self, Log: logPath})
	if err := cluster.WriteState(statePath(*dir), state); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(readyPath); err == nil {
			break
		}
		if !cluster.PIDAlive(pid, self) || time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("stand-in did not become ready; `make dev-cluster-down` cleans up. Its log:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "dev cluster up: namespace %s, logs in %s\n", *ns, c.LogDir())
	fmt.Fprintln(os.Stderr, "pods are simulated (kwok); task outputs are placeholders from the executor stand-in")
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig())
	return nil
}

func down(args []string) error {
	fs := flag.NewFlagSet("down", flag.ExitOnError)
	dir := fs.String("state", "", "state directory given to up")
	_ = fs.Parse(args)
	s, err := cluster.ReadState(statePath(*dir))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "no dev cluster recorded in", *dir)
		return nil
	}
	if err != nil {
		return err
	}
	stopped, err := cluster.StopState(s)
	for _, p := range stopped {
		fmt.Fprintf(os.Stderr, "stopped %s (pid %d)\n", p.Name, p.PID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "logs kept in %s\n", filepath.Join(s.WorkDir, "logs"))
	return os.Remove(statePath(*dir))
}

func runStandin(args []string) error {
	fs := flag.NewFlagSet("standin", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	ns := fs.String("namespace", "", "namespace")
	ready := fs.String("ready", "", "file to create once serving")
	_ = fs.Parse(args)
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	s, err := standin.Start(ctx, cfg, standin.Options{Namespace: *ns, TypeOf: standin.KFPContractTypes, Logf: log.Printf})
	if err != nil {
		return err
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, nil, 0o600); err != nil {
			return err
		}
	}
	log.Printf("standin: serving pods in namespace %s", *ns)
	<-ctx.Done()
	s.Wait()
	return nil
}
