//go:build e2e

package cluster_test

import (
	"context"
	"os"
	"testing"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

// TestStartStopStart starts the stack twice in one process: ports, PKI,
// temp dirs and processes must not leak from one run into the next, and
// Stop must leave none of the recorded PIDs alive.
func TestStartStopStart(t *testing.T) {
	for run := 1; run <= 2; run++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		began := time.Now()
		c, err := cluster.Start(ctx, cluster.Options{Logf: t.Logf})
		cancel()
		if err != nil {
			t.Fatalf("run %d: start: %v", run, err)
		}
		t.Logf("run %d: started in %.1fs", run, time.Since(began).Seconds())

		procs := c.Processes()
		if len(procs) != 6 {
			t.Errorf("run %d: %d processes, want 6: %+v", run, len(procs), procs)
		}
		for _, p := range procs {
			if !cluster.PIDAlive(p.PID, p.Binary) {
				t.Errorf("run %d: %s (pid %d) not running after Start", run, p.Name, p.PID)
			}
		}
		checkAPI(t, c)
		if t.Failed() {
			c.DumpLogs(os.Stderr, 8000)
		}

		work := c.WorkDir()
		began = time.Now()
		if err := c.Stop(); err != nil {
			t.Errorf("run %d: stop: %v", run, err)
		}
		t.Logf("run %d: stopped in %.1fs", run, time.Since(began).Seconds())
		for _, p := range procs {
			if cluster.PIDAlive(p.PID, p.Binary) {
				t.Errorf("run %d: %s (pid %d) still running after Stop", run, p.Name, p.PID)
			}
		}
		if _, err := os.Stat(work); !os.IsNotExist(err) {
			t.Errorf("run %d: work dir %s left behind (stat: %v)", run, work, err)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("run %d: second Stop: %v", run, err)
		}
	}
}

// checkAPI uses the cluster the way tests and people do: through the
// kubeconfig file and through RESTConfig.
func checkAPI(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	fromFile, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	kube := kubernetes.NewForConfigOrDie(fromFile)
	v, err := kube.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != "v1.36.1" {
		t.Errorf("apiserver reports %s, want v1.36.1", v.GitVersion)
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, c.Namespace(), metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s: %v", c.Namespace(), err)
	}
	argo := argoclient.NewForConfigOrDie(c.RESTConfig())
	if _, err := argo.ArgoprojV1alpha1().Workflows(c.Namespace()).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list workflows: %v", err)
	}
	if _, err := argo.ArgoprojV1alpha1().WorkflowTaskResults(c.Namespace()).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list workflowtaskresults: %v", err)
	}
}

// TestRealPodsStop starts the stack with a real node, leaves a pod running
// (a pause container, which never exits), and checks that Stop leaves
// nothing behind: no process of the run (found by its work directory on the
// command line, or in its cgroup), no mount under the work directory, no
// cgroup, no work directory.
func TestRealPodsStop(t *testing.T) {
	if os.Getenv(cluster.ImagesEnv) == "" {
		t.Skipf("%s not set: the node's images are built by hack/e2e/images.sh (make e2e sets it)", cluster.ImagesEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{Pods: cluster.RealPods, Logf: t.Logf})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	work, state := c.WorkDir(), c.State()
	kube := kubernetes.NewForConfigOrDie(c.RESTConfig())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper"},
		Spec: corev1.PodSpec{
			HostNetwork: true,
			Containers: []corev1.Container{{
				Name: "main", Image: c.PauseImage(), ImagePullPolicy: corev1.PullIfNotPresent,
			}},
		},
	}
	if _, err := kube.CoreV1().Pods(c.Namespace()).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	running := false
	for !running && ctx.Err() == nil {
		p, err := kube.CoreV1().Pods(c.Namespace()).Get(ctx, pod.Name, metav1.GetOptions{})
		running = err == nil && p.Status.Phase == corev1.PodRunning
		time.Sleep(200 * time.Millisecond)
	}
	if !running {
		c.DumpLogs(os.Stderr, 8000)
		t.Fatal("pod never Running")
	}
	if pids := cluster.RunPIDs(state); len(pids) == 0 {
		t.Error("no process found in the run's cgroup while a pod runs: the check below would prove nothing")
	}
	if err := c.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if pids := cluster.RunPIDs(state); len(pids) > 0 {
		t.Errorf("processes left after Stop: %v", pids)
	}
	if mps := cluster.MountsUnder(work); len(mps) > 0 {
		t.Errorf("mounts left under %s: %v", work, mps)
	}
	if dirs := cluster.CgroupDirs(state.NodeCgroup); len(dirs) > 0 {
		t.Errorf("cgroups left: %v", dirs)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("work dir %s left behind (stat: %v)", work, err)
	}
}
