// Package cluster starts and stops a real Kubernetes control plane with the
// real Argo workflow-controller on loopback, for e2e tests and for people
// (make dev-cluster). Only pods are simulated: kwok moves them through their
// phases, nothing runs in them. See docs/e2e.md.
//
// The stack: etcd, kube-apiserver (RBAC on, Argo's full CRDs), kube-scheduler,
// a trimmed kube-controller-manager (garbage collector, namespace and
// service-account controllers), kwok with one simulated node, and Argo's
// workflow-controller in namespaced mode. Binaries come from
// hack/e2e/build.sh.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure Start. The zero value is usable.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-scheduler,
	// kube-controller-manager, kwok and workflow-controller. Default:
	// $KFP_ARGO_E2E_BIN, else the directory `hack/e2e/build.sh --print-dir`
	// names (found by walking up from the working directory).
	BinDir string
	// CRDDir holds Argo's argoproj.io_*.yaml CRDs. Default: the full CRDs in
	// the argo-workflows v3.7.18 module (downloaded if not in the cache).
	CRDDir string
	// Namespace the controller manages and workflows run in. Default kfp-e2e.
	Namespace string
	// WorkDir receives the PKI, kubeconfig, configs and one log per process
	// (WorkDir/logs). Default: a new temporary directory, removed by Stop
	// unless KeepWorkDir.
	WorkDir     string
	KeepWorkDir bool
	// Detached processes outlive the caller and are stopped through the
	// state file (make dev-cluster); otherwise they die with the caller.
	Detached bool
	// ControllerConfig adds or replaces keys of workflow-controller-configmap.
	ControllerConfig map[string]string
	// StartTimeout bounds Start. Default 3 minutes (the first start on a
	// cold, busy machine is the slow one).
	StartTimeout time.Duration
	// Logf reports progress. Default: silent.
	Logf func(format string, args ...any)
	// Pods selects kwok (FakePods, the zero value) or a real kubelet with
	// containerd, runc and an S3 artifact repository (RealPods).
	Pods PodMode
	// ImageDir holds the real node's image tarballs and images.tsv.
	// Default: $KFP_ARGO_E2E_IMAGES, else `hack/e2e/images.sh --print-dir`.
	ImageDir string
	// Argo selects the Argo version of the CRDs and the workflow-controller:
	// Argo3 (v3.7.18, the zero value) or Argo4 (v4.0.7: its full CRDs, whose
	// CEL rules the apiserver enforces, and its controller from
	// Argo4BinDir). Argo4 runs with FakePods only: there is no v4 argoexec
	// image.
	Argo ArgoVersion
	// Argo4BinDir holds Argo 4's workflow-controller. Default:
	// $KFP_ARGO_E2E_ARGO4_BIN, else `hack/e2e/build.sh --argo4 --print-dir`.
	Argo4BinDir string
}

// ArgoVersion names the Argo Workflows release a cluster runs.
type ArgoVersion int

const (
	Argo3 ArgoVersion = iota // v3.7.18
	Argo4                    // v4.0.7
)

// ArgoEnv selects the Argo version of the e2e packages' clusters: v3 (the
// default) or v4 (make e2e-v4).
const ArgoEnv = "KFP_ARGO_E2E_ARGO"

// ArgoFromEnv reads $KFP_ARGO_E2E_ARGO.
func ArgoFromEnv() (ArgoVersion, error) {
	switch v := os.Getenv(ArgoEnv); v {
	case "", "v3":
		return Argo3, nil
	case "v4":
		return Argo4, nil
	default:
		return Argo3, fmt.Errorf("%s=%q: expected v3 or v4", ArgoEnv, v)
	}
}

// Flag is the version as `kfp-argo compile --argo-version` names it.
func (v ArgoVersion) Flag() string {
	if v == Argo4 {
		return "v4"
	}
	return "v3"
}

// Release is the exact Argo release.
func (v ArgoVersion) Release() string {
	if v == Argo4 {
		return "v4.0.7"
	}
	return "v3.7.18"
}

// Argo is the Argo version the cluster runs.
func (c *Cluster) Argo() ArgoVersion { return c.opts.Argo }

// Cluster is a running stack. Its methods are safe for concurrent use.
type Cluster struct {
	opts       Options
	workDir    string
	logDir     string
	dataDir    string
	kubeconfig string
	rest       *rest.Config
	pki        *pki
	ports      ports
	bins       map[string]string
	node       *node   // RealPods only
	images     []Image // RealPods only
	s3         *S3     // RealPods only

	stopVolumes context.CancelFunc // RealPods, not detached: the volume provisioner
	// starting counts start-up goroutines that may still start processes;
	// Stop waits for them so that nothing starts after it.
	starting sync.WaitGroup

	mu      sync.Mutex
	procs   []*process
	stopped bool
}

// ProcessInfo names one running component.
type ProcessInfo struct {
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	Binary string `json:"binary"`
	Log    string `json:"log"`
}

type ports struct {
	etcdClient, etcdPeer, etcdMetrics, apiserver, scheduler, controllerManager int
	// registry is never listened on: containerd's registry mirror for
	// every host, so that a pull fails at once on loopback.
	kubelet, kubeletHealthz, s3, registry int
}

// ExecutorImage is what the controller puts in pods; it is never pulled.
const ExecutorImage = "quay.io/argoproj/argoexec:v3.7.18"

// Argo4ExecutorImage is Argo 4's executor image name; with kwok nothing runs it.
const Argo4ExecutorImage = "quay.io/argoproj/argoexec:v4.0.7"

// ExecutorImage is the executor image the cluster's controller puts in pods.
func (c *Cluster) ExecutorImage() string {
	if c.opts.Argo == Argo4 {
		return Argo4ExecutorImage
	}
	return ExecutorImage
}

var binaryNames = []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kwok", "workflow-controller"}

// Start brings the whole stack up and returns once a one-pod workflow has
// run to Succeeded on it. On error everything started so far is stopped and
// the error carries the tail of every log.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	began := time.Now()
	if opts.Namespace == "" {
		opts.Namespace = "kfp-e2e"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	c := &Cluster{opts: opts, bins: map[string]string{}}
	if opts.Argo == Argo4 && opts.Pods == RealPods {
		return nil, errors.New("the Argo 4 lane runs with simulated pods only: there is no argoexec v4.0.7 image")
	}
	if c.opts.BinDir == "" {
		if c.opts.BinDir, err = findBinDir(); err != nil {
			return nil, err
		}
	}
	names := binaryNames
	if opts.Pods == RealPods {
		names = append([]string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "workflow-controller"}, nodeBinaryNames...)
	}
	for _, b := range names {
		p, err := filepath.EvalSymlinks(filepath.Join(c.opts.BinDir, b))
		if err != nil {
			return nil, fmt.Errorf("binary %s missing in %s (build them with `make e2e-build` or hack/e2e/build.sh): %w", b, c.opts.BinDir, err)
		}
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
		c.bins[b] = p
	}
	crdModule := ArgoModule
	if opts.Argo == Argo4 {
		crdModule = Argo4Module
		if c.opts.Argo4BinDir == "" {
			if c.opts.Argo4BinDir, err = findArgo4BinDir(); err != nil {
				return nil, err
			}
		}
		p, err := filepath.EvalSymlinks(filepath.Join(c.opts.Argo4BinDir, "workflow-controller"))
		if err != nil {
			return nil, fmt.Errorf("Argo 4's workflow-controller missing in %s (build it with `hack/e2e/build.sh --argo4`): %w", c.opts.Argo4BinDir, err)
		}
		if c.bins["workflow-controller"], err = filepath.Abs(p); err != nil {
			return nil, err
		}
	}
	if c.opts.CRDDir == "" {
		if c.opts.CRDDir, err = findCRDDir(crdModule); err != nil {
			return nil, err
		}
	}

	if opts.Pods == RealPods {
		if c.opts.ImageDir == "" {
			if c.opts.ImageDir, err = findImageDir(); err != nil {
				return nil, err
			}
		}
		if c.images, err = ReadImages(c.opts.ImageDir); err != nil {
			return nil, err
		}
	}

	c.workDir = opts.WorkDir
	if c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "kfp-argo-e2e-"); err != nil {
			return nil, err
		}
	}
	c.logDir = filepath.Join(c.workDir, "logs")
	if err := os.MkdirAll(c.logDir, 0o700); err != nil {
		return nil, err
	}
	// etcd on tmpfs: fsync-free and off the disk other jobs use.
	shm := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm = "/dev/shm"
	}
	sweepStaleDataDirs(shm)
	if c.dataDir, err = os.MkdirTemp(shm, dataDirPrefix); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, c.logTails(4000))
			_ = c.Stop()
		}
	}()

	if err := c.pickPorts(); err != nil {
		return nil, err
	}
	if c.pki, err = newPKI(filepath.Join(c.workDir, "pki")); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfig(); err != nil {
		return nil, err
	}

	step := func(name string, f func() error) error {
		t := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		opts.Logf("cluster: %s (%.1fs)", name, time.Since(t).Seconds())
		return nil
	}
	if err := step("etcd ready", func() error { return c.startEtcd(ctx) }); err != nil {
		return nil, err
	}
	if err := step("kube-apiserver ready", func() error { return c.startAPIServer(ctx) }); err != nil {
		return nil, err
	}
	// These three only need the apiserver; they come up while the CRDs
	// are applied.
	if err := c.startScheduler(); err != nil {
		return nil, err
	}
	if err := c.startControllerManager(); err != nil {
		return nil, err
	}
	// The real node (containerd, the image import, the kubelet) comes up
	// while the CRDs are applied: the two are the slow steps.
	nodeUp := make(chan error, 1)
	if opts.Pods == RealPods {
		c.node = newNode(c.workDir)
		if err := step("versitygw serving, bucket created", func() error { return c.startVersitygw(ctx) }); err != nil {
			return nil, err
		}
		c.starting.Add(1)
		go func() {
			defer c.starting.Done()
			err := step(fmt.Sprintf("containerd up, %d images imported", len(c.images)), func() error { return c.startContainerd(ctx) })
			if err == nil {
				err = c.startKubelet()
			}
			nodeUp <- err
		}()
	} else if err := c.startKwok(); err != nil {
		return nil, err
	}
	cs, err := newClients(c.rest)
	if err != nil {
		return nil, err
	}
	if err := step("CRDs and setup objects applied", func() error { return c.setup(ctx, cs) }); err != nil {
		return nil, err
	}
	if err := step("scheduler and controller-manager healthy", func() error {
		if err := c.waitHealthz(ctx, "kube-scheduler", c.ports.scheduler); err != nil {
			return err
		}
		return c.waitHealthz(ctx, "kube-controller-manager", c.ports.controllerManager)
	}); err != nil {
		return nil, err
	}
	if opts.Pods == RealPods {
		if err := <-nodeUp; err != nil {
			return nil, err
		}
		if err := step("kubelet node registered", func() error { return c.waitNodeRegistered(ctx, cs) }); err != nil {
			return nil, err
		}
	} else if err := step("kwok node ready", func() error { return c.waitNodeReady(ctx, cs) }); err != nil {
		return nil, err
	}
	if opts.Pods == RealPods && !opts.Detached {
		// Claims need volumes; a goroutine can only serve a cluster that
		// lives in this process (not the detached dev cluster).
		vctx, stop := context.WithCancel(context.Background())
		c.stopVolumes = stop
		go c.provisionVolumes(vctx, cs)
	}
	if err := c.startController(); err != nil {
		return nil, err
	}
	if err := step("canary workflow succeeded", func() error { return c.runCanary(ctx, cs) }); err != nil {
		return nil, err
	}
	opts.Logf("cluster: up in %.1fs, KUBECONFIG=%s", time.Since(began).Seconds(), c.kubeconfig)
	return c, nil
}

// Kubeconfig is the path of an admin kubeconfig for the cluster.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Namespace is the namespace the controller manages.
func (c *Cluster) Namespace() string { return c.opts.Namespace }

// LogDir holds one log file per process.
func (c *Cluster) LogDir() string { return c.logDir }

// WorkDir holds the PKI, configs and logs.
func (c *Cluster) WorkDir() string { return c.workDir }

// Processes lists the started processes in start order.
func (c *Cluster) Processes() []ProcessInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ProcessInfo
	for _, p := range c.procs {
		out = append(out, ProcessInfo{Name: p.name, PID: p.pid(), Binary: p.path, Log: p.logPath})
	}
	return out
}

// Stop stops every process in reverse start order (SIGTERM, then SIGKILL
// after a grace period) by its own PID and removes the etcd data and,
// unless KeepWorkDir, the work directory. Calling it again is a no-op.
func (c *Cluster) Stop() error {
	c.starting.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	if c.stopVolumes != nil {
		c.stopVolumes()
	}
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		if err := c.procs[i].stop(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
		// Once containerd is gone, nothing restarts containers: kill
		// what is left of them and their shims, unmount their files.
		if c.procs[i].name == "containerd" && c.node != nil {
			errs = append(errs, teardownNode(c.node.dir, c.node.cgroup))
		}
	}
	if c.dataDir != "" {
		errs = append(errs, os.RemoveAll(c.dataDir))
	}
	if !c.opts.KeepWorkDir && c.opts.WorkDir == "" && c.workDir != "" {
		errs = append(errs, os.RemoveAll(c.workDir))
	}
	return errors.Join(errs...)
}

// DumpLogs writes the last maxBytes of every process's log to w. Tests call
// it on failure; the logs are gone after Stop unless KeepWorkDir is set.
func (c *Cluster) DumpLogs(w io.Writer, maxBytes int) {
	fmt.Fprint(w, c.logTails(maxBytes))
}

func (c *Cluster) logTails(maxBytes int) string {
	c.mu.Lock()
	procs := append([]*process(nil), c.procs...)
	c.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		state := "running"
		if p.exited() {
			state = "exited"
			if p.err != nil {
				state = "exited: " + p.err.Error()
			}
		}
		fmt.Fprintf(&b, "===== %s (pid %d, %s) %s =====\n%s\n", p.name, p.pid(), state, p.logPath, p.logTail(maxBytes))
	}
	return b.String()
}

// run starts one component and records it.
func (c *Cluster) run(name string, args []string, env ...string) (*process, error) {
	p := &process{
		name:    name,
		path:    c.bins[binaryFor(name)],
		args:    args,
		env:     env,
		logPath: filepath.Join(c.logDir, name+".log"),
	}
	if err := p.start(c.opts.Detached); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, nil
}

func binaryFor(name string) string { return name }

// pickPorts takes free loopback ports from the kernel. All listeners are held
// until every port is chosen so the same port is not handed out twice;
// another process could still take one before our component binds it, which
// shows up as a start error naming the port.
func (c *Cluster) pickPorts() error {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ps := make([]int, 10)
	for i := range ps {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		ps[i] = l.Addr().(*net.TCPAddr).Port
	}
	c.ports = ports{ps[0], ps[1], ps[2], ps[3], ps[4], ps[5], ps[6], ps[7], ps[8], ps[9]}
	return nil
}

func (c *Cluster) writeKubeconfig() error {
	c.kubeconfig = filepath.Join(c.workDir, "kubeconfig")
	server := fmt.Sprintf("https://127.0.0.1:%d", c.ports.apiserver)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.pki.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.pki.adminCertPEM, ClientKeyData: c.pki.adminKeyPEM}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "admin", Namespace: c.opts.Namespace}
	cfg.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*cfg, c.kubeconfig); err != nil {
		return err
	}
	c.rest = &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.pki.caPEM,
			CertData: c.pki.adminCertPEM,
			KeyData:  c.pki.adminKeyPEM,
		},
		// Tests create and watch many objects quickly; client-side
		// throttling would only add latency here.
		QPS:   200,
		Burst: 400,
	}
	return nil
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", c.ports.etcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", c.ports.etcdPeer)
	_, err := c.run("etcd", []string{
		"--name=e2e",
		"--data-dir=" + c.dataDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=e2e=" + peer,
		"--listen-metrics-urls=" + fmt.Sprintf("http://127.0.0.1:%d", c.ports.etcdMetrics),
		// The data lives on tmpfs and dies with the cluster.
		"--unsafe-no-fsync",
		"--log-level=warn",
	})
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	return c.poll(ctx, "etcd /health", func() (bool, error) {
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return false, nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`), nil
	})
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	_, err := c.run("kube-apiserver", []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", c.ports.etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.ports.apiserver),
		"--tls-cert-file=" + c.pki.servingCert,
		"--tls-private-key-file=" + c.pki.servingKey,
		"--client-ca-file=" + c.pki.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.pki.saPublicKey,
		"--service-account-signing-key-file=" + c.pki.saPrivateKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		// Flow control and the endpoint reconciler only add background
		// load and noise for a one-apiserver loopback cluster.
		"--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none",
		// Otherwise the node keeps its not-ready taint forever: there is
		// no node lifecycle controller to lift it.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--allow-privileged=true",
		// `kubectl logs` and `kfp-argo run logs` go through the kubelet.
		"--kubelet-client-certificate=" + c.pki.adminCert,
		"--kubelet-client-key=" + c.pki.adminKey,
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--profiling=false",
	})
	if err != nil {
		return err
	}
	hc, err := c.adminHTTPClient()
	if err != nil {
		return err
	}
	return c.pollOK(ctx, "kube-apiserver /readyz", hc, fmt.Sprintf("https://127.0.0.1:%d/readyz", c.ports.apiserver))
}

func (c *Cluster) startScheduler() error {
	_, err := c.run("kube-scheduler", []string{
		"--kubeconfig=" + c.kubeconfig,
		"--authentication-kubeconfig=" + c.kubeconfig,
		"--authorization-kubeconfig=" + c.kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.ports.scheduler),
	})
	return err
}

func (c *Cluster) startControllerManager() error {
	_, err := c.run("kube-controller-manager", []string{
		"--kubeconfig=" + c.kubeconfig,
		"--authentication-kubeconfig=" + c.kubeconfig,
		"--authorization-kubeconfig=" + c.kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.ports.controllerManager),
		// The garbage collector deletes the pods and task results of
		// deleted workflows (a resubmitted name hangs without it);
		// namespace and serviceaccount make namespaces and their default
		// ServiceAccount work; the volume binder and the protection
		// controllers bind claims to the volumes the stand-in creates and
		// let bound claims be deleted.
		// root-ca-cert-publisher writes kube-root-ca.crt into every
		// namespace: real pods mount it with their service-account token.
		"--controllers=garbagecollector,namespace,serviceaccount,persistentvolume-binder,pvc-protection,pv-protection,root-ca-cert-publisher",
		"--root-ca-file=" + c.pki.caCert,
		"--use-service-account-credentials=false",
	})
	return err
}

func (c *Cluster) startKwok() error {
	cfg := filepath.Join(c.workDir, "kwok-stages.yaml")
	if err := os.WriteFile(cfg, []byte(kwokStages), 0o600); err != nil {
		return err
	}
	_, err := c.run("kwok", []string{
		"--kubeconfig=" + c.kubeconfig,
		"--config=" + cfg,
		"--manage-all-nodes=false",
		"--manage-nodes-with-label-selector=" + nodeLabel + "=" + nodeValue,
	})
	return err
}

func (c *Cluster) startController() error {
	_, err := c.run("workflow-controller", []string{
		"--kubeconfig=" + c.kubeconfig,
		"--namespace=" + c.opts.Namespace,
		"--namespaced",
		"--managed-namespace=" + c.opts.Namespace,
		"--configmap=" + controllerConfigMap,
		"--executor-image=" + c.ExecutorImage(),
		"--qps=200",
		"--burst=400",
	},
		"LEADER_ELECTION_DISABLE=true",
		// The default 10s requeue makes every DAG level wait up to 10s.
		"DEFAULT_REQUEUE_TIME=1s",
	)
	return err
}

// waitHealthz polls a component's secure /healthz. Its serving certificate is
// self-signed by the component at start, so it is not verified: the port is
// on loopback and was chosen by us a moment ago.
func (c *Cluster) waitHealthz(ctx context.Context, name string, port int) error {
	hc := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	return c.pollOK(ctx, name+" /healthz", hc, fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
}

// pollOK waits until url answers 200; connection errors mean "not yet".
func (c *Cluster) pollOK(ctx context.Context, what string, hc *http.Client, url string) error {
	return c.poll(ctx, what, func() (bool, error) {
		resp, err := hc.Get(url)
		if err != nil {
			return false, nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.pki.caPEM) {
		return nil, errors.New("bad CA PEM")
	}
	cert, err := tls.X509KeyPair(c.pki.adminCertPEM, c.pki.adminKeyPEM)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}, nil
}

// poll calls cond every 100ms until it returns true, it errors, ctx ends, or
// a started process exits (then the error names it: waiting on would only
// run into the timeout).
func (c *Cluster) poll(ctx context.Context, what string, cond func() (bool, error)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		c.mu.Lock()
		for _, p := range c.procs {
			if p.exited() {
				c.mu.Unlock()
				return fmt.Errorf("waiting for %s: %s (pid %d) exited: %v", what, p.name, p.pid(), p.err)
			}
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

const dataDirPrefix = "kfp-argo-e2e-etcd-"

// sweepStaleDataDirs removes etcd data directories that no running etcd
// uses: those of clusters whose test binary was killed (go test's timeout,
// SIGKILL) before it could Stop. They live on tmpfs, so they hold memory.
// A directory younger than a minute is left alone: its cluster may be
// starting right now.
func sweepStaleDataDirs(dir string) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	inUse := map[string]bool{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if d, ok := strings.CutPrefix(arg, "--data-dir="); ok {
				inUse[filepath.Clean(d)] = true
			}
		}
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dataDirPrefix) || err != nil ||
			time.Since(info.ModTime()) < time.Minute || inUse[path] {
			continue
		}
		_ = os.RemoveAll(path)
	}
}
