package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodMode selects what runs the pods.
type PodMode string

const (
	// FakePods: kwok moves pods through their phases; nothing runs and
	// the executor stand-in (test code) reports outputs. The zero value.
	FakePods PodMode = ""
	// RealPods: a real kubelet runs every pod with containerd and runc on
	// the host network, and versitygw serves the S3 artifact repository.
	RealPods PodMode = "real"
)

// RealNodeName is the real node. The kubelet refuses a loopback --node-ip
// but takes an IP given as --hostname-override as the node's address, and
// the node's name is then that address.
const RealNodeName = "127.0.0.1"

// ImagesEnv overrides where a real node's image tarballs are found.
const ImagesEnv = "KFP_ARGO_E2E_IMAGES"

var nodeBinaryNames = []string{"kubelet", "containerd", "containerd-shim-runc-v2", "ctr", "runc", "versitygw"}

// node holds the paths of a real node's runtime state, all under
// workDir/node so that teardown knows what to unmount and remove.
type node struct {
	dir        string // workDir/node
	ctdRoot    string
	ctdState   string
	ctdSock    string
	runcRoot   string
	kubeletDir string
	podLogs    string
	// cgroup is the cgroup (v1 path, relative to each hierarchy's root)
	// under which the kubelet puts every pod, and containerd and its
	// shims run: killing what is in it kills every container, whatever
	// happened to the processes that started them.
	cgroup string
}

func newNode(workDir string) *node {
	d := filepath.Join(workDir, "node")
	return &node{
		dir:        d,
		ctdRoot:    filepath.Join(d, "containerd", "root"),
		ctdState:   filepath.Join(d, "containerd", "state"),
		ctdSock:    filepath.Join(d, "containerd", "state", "containerd.sock"),
		runcRoot:   filepath.Join(d, "containerd", "state", "runc"),
		kubeletDir: filepath.Join(d, "kubelet"),
		podLogs:    filepath.Join(d, "pod-logs"),
		cgroup:     "/kfp-argo-e2e-" + filepath.Base(workDir) + "-" + strconv.Itoa(os.Getpid()),
	}
}

// Image is one image tarball of the node and one of the names it carries.
type Image struct {
	Tarball string
	Name    string
}

// findImageDir asks hack/e2e/images.sh where its cache directory is.
func findImageDir() (string, error) {
	if d := os.Getenv(ImagesEnv); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w (or set %s)", err, ImagesEnv)
	}
	out, err := exec.Command("bash", filepath.Join(root, "hack", "e2e", "images.sh"), "--print-dir").Output()
	if err != nil {
		return "", fmt.Errorf("hack/e2e/images.sh --print-dir: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ReadImages reads dir/images.tsv (`<tarball>\t<image name>` per line, the
// tarball relative to dir unless absolute).
func ReadImages(dir string) ([]Image, error) {
	f, err := os.Open(filepath.Join(dir, "images.tsv"))
	if err != nil {
		return nil, fmt.Errorf("node images (build them with hack/e2e/images.sh or set %s): %w", ImagesEnv, err)
	}
	defer f.Close()
	var out []Image
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tar, name, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", f.Name(), line)
		}
		if !filepath.IsAbs(tar) {
			tar = filepath.Join(dir, tar)
		}
		out = append(out, Image{Tarball: tar, Name: strings.TrimSpace(name)})
	}
	return out, sc.Err()
}

// sandboxImage picks the pause image among the node's images.
func sandboxImage(images []Image) (string, error) {
	for _, im := range images {
		if strings.Contains(im.Name, "/pause:") {
			return im.Name, nil
		}
	}
	return "", errors.New("no pause image (a name containing /pause:) in images.tsv")
}

// containerdConfig is containerd's whole configuration: every path under
// the run's node directory, CRI's streaming server on loopback, no CNI
// (pods use the host network), and every registry pointed at a closed
// loopback port so that a pull of an image that was not imported fails at
// once instead of dialling out.
func (n *node) containerdConfig(runc, sandbox string, registryPort int) string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.blockfile", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing", "io.containerd.nri.v1.nri"]

[grpc]
  address = %[3]q
[ttrpc]
  address = "%[3]s.ttrpc"
[debug]
  level = "warn"

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # The kubelet asks for oom_score_adj -998 for sandboxes and -997 for
  # Guaranteed pods; lowering it needs CAP_SYS_RESOURCE, which root lacks on
  # machines like the CI VM (runc: "failed to update /proc/self/oom_score_adj:
  # Permission denied"). Clamp to containerd's own value instead.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = %[4]q
        Root = %[5]q
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%[6]q]
    conf_dir = %[6]q

[plugins.'io.containerd.cri.v1.images']
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %[7]q
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = %[8]q

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`, n.ctdRoot, n.ctdState, n.ctdSock, runc, n.runcRoot,
		filepath.Join(n.dir, "cni"), sandbox, filepath.Join(n.dir, "certs.d"))
}

// registryHosts is certs.d/_default/hosts.toml: every registry host resolves
// to a loopback port nothing listens on.
func registryHosts(port int) string {
	return fmt.Sprintf("server = \"http://127.0.0.1:%d\"\n\n[host.\"http://127.0.0.1:%d\"]\n  capabilities = [\"pull\", \"resolve\"]\n", port, port)
}

// kubeletConfig is the KubeletConfiguration: loopback listeners, x509
// client authentication with the cluster CA, every directory under the
// run's node directory, and a resolv.conf without a nameserver so that pods
// resolve nothing.
func (n *node) kubeletConfig(caFile string, port, healthzPort int) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
cgroupDriver: cgroupfs
cgroupRoot: %s
failSwapOn: false
failCgroupV1: false
resolvConf: %s
podLogsDirectory: %s
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %s
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 1Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
syncFrequency: 10s
fileCheckFrequency: 10s
`, port, healthzPort, n.cgroup, filepath.Join(n.dir, "resolv.conf"), n.podLogs, n.ctdSock, caFile)
}

// cgroupHierarchies lists the mounted cgroup v1 hierarchies (their mount
// points, one per controller set) and the cgroup2 mount, from
// /proc/self/mountinfo.
func cgroupHierarchies() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		typ := strings.Fields(post)
		if len(f) < 5 || len(typ) < 1 || (typ[0] != "cgroup" && typ[0] != "cgroup2") {
			continue
		}
		// The hierarchy's root must be mounted ("/" as the mount's root)
		// for our absolute cgroup path to be where the kubelet looks.
		if f[3] != "/" || seen[f[4]] {
			continue
		}
		seen[f[4]] = true
		out = append(out, f[4])
	}
	return out, nil
}

// makeCgroup creates the node's cgroup in every hierarchy. A new cpuset
// cgroup starts with no CPUs and no memory nodes; copy the parent's, or
// nothing could be placed in it.
func (n *node) makeCgroup() error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		dir := filepath.Join(h, n.cgroup)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			parent, err := os.ReadFile(filepath.Join(h, f))
			if err != nil {
				continue // not the cpuset hierarchy
			}
			if err := os.WriteFile(filepath.Join(dir, f), parent, 0o644); err != nil {
				return fmt.Errorf("cgroup %s: %w", filepath.Join(dir, f), err)
			}
		}
	}
	return nil
}

// moveToCgroup puts pid into the node's cgroup in every hierarchy, so that
// its children (containerd's shims) are found there at teardown.
func (n *node) moveToCgroup(pid int) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		sub := filepath.Join(h, n.cgroup, "runtime")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(h, n.cgroup, f)); err == nil {
				_ = os.WriteFile(filepath.Join(sub, f), v, 0o644)
			}
		}
		if err := os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("move pid %d to %s: %w", pid, sub, err)
		}
	}
	return nil
}

// cgroupPIDs lists every process in the cgroup tree (any hierarchy).
func cgroupPIDs(cgroup string) ([]int, error) {
	hs, err := cgroupHierarchies()
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var pids []int
	for _, h := range hs {
		root := filepath.Join(h, cgroup)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			for _, s := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(s); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids, nil
}

// killCgroup SIGKILLs every process in the cgroup tree until it is empty.
func killCgroup(cgroup string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := cgroupPIDs(cgroup)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: processes %v survive SIGKILL", cgroup, pids)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeCgroup removes the cgroup tree, deepest first, in every hierarchy.
func removeCgroup(cgroup string) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		root := filepath.Join(h, cgroup)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			// A cgroup can be removed a moment after its last
			// process is reaped; retry briefly.
			var err error
			for i := 0; i < 50; i++ {
				if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					err = nil
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll detaches every mount at or below dir (overlay root file
// systems, the kubelet's volume tmpfs mounts and its bind mount of its own
// directory), repeating until none is left: stacked mounts show up one
// layer at a time.
func unmountAll(dir string) error {
	for i := 0; i < 10; i++ {
		mps, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		for _, mp := range mps {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
	}
	mps, _ := mountsUnder(dir)
	return fmt.Errorf("mounts left under %s: %v", dir, mps)
}

// teardownNode is the part of stopping a real node that stopping processes
// by PID does not do: every container process (in the node's cgroup, which
// also holds containerd and its shims) is killed, every mount under the
// node directory is detached and the cgroups are removed. Stop runs it after
// the kubelet and containerd have been stopped by PID.
func teardownNode(nodeDir, cgroup string) error {
	var errs []error
	if cgroup != "" {
		errs = append(errs, killCgroup(cgroup, 15*time.Second))
	}
	if nodeDir != "" {
		errs = append(errs, unmountAll(nodeDir))
	}
	if cgroup != "" {
		errs = append(errs, removeCgroup(cgroup))
	}
	return errors.Join(errs...)
}

// importImages loads every tarball into containerd's k8s.io namespace, the
// one CRI (and so the kubelet) uses.
func (c *Cluster) importImages(ctx context.Context) error {
	done := map[string]bool{}
	for _, im := range c.images {
		if done[im.Tarball] {
			continue
		}
		done[im.Tarball] = true
		cmd := exec.CommandContext(ctx, c.bins["ctr"], "--address", c.node.ctdSock, "--namespace", "k8s.io",
			"images", "import", im.Tarball)
		cmd.Env = childEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ctr images import %s: %w: %s", im.Tarball, err, out)
		}
	}
	return nil
}

func (c *Cluster) startContainerd(ctx context.Context) error {
	n := c.node
	for _, d := range []string{n.ctdRoot, n.ctdState, n.kubeletDir, n.podLogs, filepath.Join(n.dir, "cni"),
		filepath.Join(n.dir, "certs.d", "_default")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	sandbox, err := sandboxImage(c.images)
	if err != nil {
		return err
	}
	closed := c.ports.registry
	cfg := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(n.containerdConfig(c.bins["runc"], sandbox, closed)), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.dir, "certs.d", "_default", "hosts.toml"), []byte(registryHosts(closed)), 0o600); err != nil {
		return err
	}
	if err := n.makeCgroup(); err != nil {
		return err
	}
	// containerd finds its shim on PATH.
	p, err := c.run("containerd", []string{"--config", cfg},
		"PATH="+filepath.Dir(c.bins["containerd-shim-runc-v2"])+":"+os.Getenv("PATH"))
	if err != nil {
		return err
	}
	if err := n.moveToCgroup(p.pid()); err != nil {
		return err
	}
	if err := c.poll(ctx, "containerd socket", func() (bool, error) {
		cmd := exec.CommandContext(ctx, c.bins["ctr"], "--address", n.ctdSock, "version")
		return cmd.Run() == nil, nil
	}); err != nil {
		return err
	}
	return c.importImages(ctx)
}

func (c *Cluster) startKubelet() error {
	n := c.node
	if err := os.WriteFile(filepath.Join(n.dir, "resolv.conf"), []byte("# no nameserver: pods resolve nothing\n"), 0o644); err != nil {
		return err
	}
	cfg := filepath.Join(n.dir, "kubelet.yaml")
	if err := os.WriteFile(cfg, []byte(n.kubeletConfig(c.pki.caCert, c.ports.kubelet, c.ports.kubeletHealthz)), 0o600); err != nil {
		return err
	}
	_, err := c.run("kubelet", []string{
		"--config=" + cfg,
		"--kubeconfig=" + c.kubeconfig,
		"--root-dir=" + n.kubeletDir,
		"--cert-dir=" + filepath.Join(n.dir, "kubelet-pki"),
		"--hostname-override=" + RealNodeName,
		"--v=1",
	})
	return err
}

// waitNodeRegistered waits for the kubelet's node object and its healthz.
// The node stays NotReady ("cni plugin not initialized": there is no CNI);
// the kubelet still runs host-network pods, and with TaintNodesByCondition
// off nothing keeps the scheduler away.
func (c *Cluster) waitNodeRegistered(ctx context.Context, cs *clients) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	if err := c.pollOK(ctx, "kubelet /healthz", hc, fmt.Sprintf("http://127.0.0.1:%d/healthz", c.ports.kubeletHealthz)); err != nil {
		return err
	}
	return c.poll(ctx, "node "+RealNodeName+" registered", func() (bool, error) {
		_, err := cs.kube.CoreV1().Nodes().Get(ctx, RealNodeName, metav1.GetOptions{})
		return err == nil, nil
	})
}

// RunPIDs lists the live processes of a real node: those in its cgroup and
// those whose command line names its node directory (containerd's shims
// name its socket). Empty after a clean Stop.
func RunPIDs(s State) []int {
	seen := map[int]bool{}
	var out []int
	if s.NodeCgroup != "" {
		pids, _ := cgroupPIDs(s.NodeCgroup)
		for _, p := range pids {
			seen[p] = true
			out = append(out, p)
		}
	}
	if s.NodeDir == "" {
		return out
	}
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || seen[pid] {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s.NodeDir) {
			out = append(out, pid)
		}
	}
	return out
}

// MountsUnder lists the mount points at or below dir.
func MountsUnder(dir string) []string {
	mps, _ := mountsUnder(dir)
	return mps
}

// CgroupDirs lists the directories of cgroup in every hierarchy that exist.
func CgroupDirs(cgroup string) []string {
	if cgroup == "" {
		return nil
	}
	hs, _ := cgroupHierarchies()
	var out []string
	for _, h := range hs {
		if _, err := os.Stat(filepath.Join(h, cgroup)); err == nil {
			out = append(out, filepath.Join(h, cgroup))
		}
	}
	return out
}

// PauseImage is the node's sandbox image (RealPods only): a container that
// runs until it is killed.
func (c *Cluster) PauseImage() string {
	im, _ := sandboxImage(c.images)
	return im
}

// provisionVolumes stands in for a storage provisioner on a real node until
// ctx ends: every unbound claim in the namespace gets a hostPath
// PersistentVolume pre-bound to it, under the node directory (so teardown
// removes it), plus the claim's StorageClass if missing. The
// controller-manager's volume binder binds them; the kubelet mounts them.
func (c *Cluster) provisionVolumes(ctx context.Context, cs *clients) {
	done := map[string]bool{}
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		pvcs, err := cs.kube.CoreV1().PersistentVolumeClaims(c.opts.Namespace).List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range pvcs.Items {
				pvc := &pvcs.Items[i]
				if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil || done[string(pvc.UID)] {
					continue
				}
				if _, err := BindClaim(ctx, cs.kube, pvc, provisionerName, filepath.Join(c.node.dir, "volumes", string(pvc.UID))); err != nil {
					c.opts.Logf("cluster: %v", err)
					continue
				}
				done[string(pvc.UID)] = true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

const provisionerName = "kfp-argo-e2e.invalid/hostpath"
