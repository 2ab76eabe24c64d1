//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/syncer"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
)

// The sync controller against the real control plane: its manifests, its RBAC, and records that end true
// while the controller is stopped and restarted at random points.

func repoRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}

var manifestGVR = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
}

// readManifests reads every object of manifests/<dir>/*.yaml (kustomization.yaml aside), with the namespace
// `from` replaced by `to` ("" keeps them).
func readManifests(t *testing.T, dir, from, to string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), "manifests", dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("manifests/%s: %v (%d files)", dir, err, len(files))
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(fh, 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m == nil {
				continue
			}
			u := &unstructured.Unstructured{Object: m}
			if to != "" {
				if u.GetNamespace() == from {
					u.SetNamespace(to)
				}
				if subjects, ok := m["subjects"].([]any); ok {
					for _, s := range subjects {
						if sm, ok := s.(map[string]any); ok && sm["namespace"] == from {
							sm["namespace"] = to
						}
					}
				}
			}
			objs = append(objs, u)
		}
		fh.Close()
	}
	return objs
}

// apply is `kubectl apply --server-side` of objs (dryRun: with --dry-run=server).
func apply(t *testing.T, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	opts := metav1.PatchOptions{FieldManager: "kfp-argo-e2e", Force: ptrTo(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, u := range objs {
		gvr, ok := manifestGVR[u.GetKind()]
		if !ok {
			t.Errorf("%s %s: kind not expected in manifests/", u.GetKind(), u.GetName())
			continue
		}
		body, err := json.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		var ri interface {
			Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*unstructured.Unstructured, error)
		} = env.dynamic.Resource(gvr)
		if u.GetNamespace() != "" {
			ri = env.dynamic.Resource(gvr).Namespace(u.GetNamespace())
		}
		if _, err := ri.Patch(context.Background(), u.GetName(), types.ApplyPatchType, body, opts); err != nil {
			t.Errorf("apply %s %s/%s (dry run %v): %v", u.GetKind(), u.GetNamespace(), u.GetName(), dryRun, err)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestSyncManifestsServerDryRun: both variants apply cleanly with a server-side dry run (RBAC on).
func TestSyncManifestsServerDryRun(t *testing.T) {
	ctx := context.Background()
	apply(t, readManifests(t, "namespace", "kubeflow", env.ns), true)
	// The cluster-wide variant's own namespace must exist for the dry run of the objects in it.
	_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kfp-argo-sync"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	apply(t, readManifests(t, "cluster", "", ""), true)
	// A dry run stores nothing.
	if _, err := env.kube.RbacV1().ClusterRoles().Get(ctx, "kfp-argo-sync", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster role after a dry run: %v", err)
	}
}

// syncAs applies the namespaced ServiceAccount and Role(s) for real and returns clients that act as that
// ServiceAccount (impersonation), so the controller runs with exactly the manifests' permissions.
func syncAs(t *testing.T, withFinalizer bool) (kubernetes.Interface, wfclientset.Interface) {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, u := range readManifests(t, "namespace", "kubeflow", env.ns) {
		if u.GetKind() == "Deployment" {
			continue
		}
		if !withFinalizer && strings.Contains(u.GetName(), "finalizer") {
			continue
		}
		objs = append(objs, u)
	}
	apply(t, objs, false)
	cfg := env.cluster.RESTConfig()
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + env.ns + ":kfp-argo-sync"}
	cfg.QPS, cfg.Burst = 50, 100
	c, err := argo.NewClientsForConfig(cfg, env.ns)
	if err != nil {
		t.Fatal(err)
	}
	return c.Kube, c.Argo
}

// syncProcess starts and stops in-process sync controllers, one at a time.
type syncProcess struct {
	t      *testing.T
	kube   kubernetes.Interface
	argo   wfclientset.Interface
	opts   syncer.Options
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
	starts int
	// lease, if set, runs each controller under leader election on that Lease (as --leader-elect does).
	lease string
	// bin, if set, makes every second start the built `kfp-argo sync` binary (admin kubeconfig, same
	// Lease), which stop kills with SIGKILL: no drain, no Lease release.
	bin    string
	killed bool
	kills  int
}

func (p *syncProcess) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return
	}
	p.starts++
	p.done = make(chan error, 1)
	if p.bin != "" && p.lease != "" && p.starts%2 == 0 {
		cmd := exec.Command(p.bin, "sync", "--kubeconfig", env.cluster.Kubeconfig(), "-n", env.ns, "--metrics-addr", "",
			"--workers", "4", "--resync", "3s", "--leader-elect", "--leader-elect-name", p.lease,
			"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "250ms")
		cmd.Env = append(os.Environ(), "KUBECONFIG=")
		if err := cmd.Start(); err != nil {
			p.t.Errorf("start sync binary: %v", err)
			p.done <- nil
			p.cancel = func() {}
			return
		}
		p.killed = true
		p.cancel = func() { _ = cmd.Process.Kill() }
		go func(done chan error) { done <- cmd.Wait() }(p.done)
		return
	}
	p.killed = false
	ctx, cancel := context.WithCancel(context.Background())
	c := syncer.New(p.kube, p.argo, p.opts)
	p.cancel = cancel
	if p.lease == "" {
		go func(done chan error) { done <- c.Run(ctx) }(p.done)
		return
	}
	lo := syncer.LeaderOptions{Namespace: env.ns, Name: p.lease, Identity: fmt.Sprintf("e2e-%d", p.starts),
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 250 * time.Millisecond,
		Logger: p.opts.Logger}
	go func(done chan error) { done <- syncer.RunLeader(ctx, p.kube, lo, &syncer.Status{}, c.Run) }(p.done)
}

func (p *syncProcess) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel == nil {
		return
	}
	p.cancel()
	select {
	case err := <-p.done:
		if p.killed {
			p.kills++
		} else if err != nil {
			p.t.Errorf("sync controller: %v", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Errorf("sync controller did not stop within 30s")
	}
	p.cancel = nil
}

const syncWorkflow = `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: placeholder
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: work}
      - {name: b, template: work, depends: a}
  - name: work
    container: {image: busybox, command: [sh, -c, "true"]}
`

// fanOut turns a syncWorkflow into a run whose record is over the ConfigMap limit: 100 tasks with 400 numeric
// outputs each (40,000 outputs and as many metrics) make about 3 MB of record JSON, over 700 KiB compressed.
// Argo keeps its node status (compressed when needed) within its own 1 MiB.
func fanOut(wf *wfv1.Workflow) {
	count := intstr.FromInt(100)
	wf.Spec.Templates[0].DAG.Tasks = []wfv1.DAGTask{{Name: "many", Template: "work", WithSequence: &wfv1.Sequence{Count: &count}}}
	work := &wf.Spec.Templates[1]
	for i := range bigOutputs {
		name := fmt.Sprintf("out%03d", i)
		work.Outputs.Parameters = append(work.Outputs.Parameters, wfv1.Parameter{Name: name, ValueFrom: &wfv1.ValueFrom{Path: "/tmp/" + name}})
	}
}

const bigOutputs = 400

type planned struct {
	name string
	// succeed, fail, cancel, delete (the Workflow deleted directly while the controller is down), ttl,
	// rundelete-down and rundelete-up (`run delete` while the controller is down / at a random point of the
	// chaos), recreate (the Workflow deleted and created again under its name), big (a record over the
	// ConfigMap limit).
	outcome string
	viaCLI  bool // Runs.Submit (record first written by the submitter) or a bare labelled Workflow
	// firstUID is the recreated run's first Workflow.
	firstUID string
}

var wantState = map[string]experiments.State{
	"succeed": experiments.StateSucceeded, "fail": experiments.StateFailed, "cancel": experiments.StateCanceled,
	"delete": experiments.StateWorkflowDeleted, "recreate": experiments.StateSucceeded, "big": experiments.StateSucceeded,
}

// stateRank is the lattice records move up in within one attempt (experiments' mapping): PENDING, then
// RUNNING or PAUSED, then CANCELING, then a terminal state.
func stateRank(s experiments.State) int {
	switch {
	case s == experiments.StatePending:
		return 0
	case s == experiments.StateCanceling:
		return 2
	case s.Terminal():
		return 3
	}
	return 1
}

// TestSyncChaos: 50 runs of mixed outcomes while the controller (with the manifests' RBAC) is stopped and
// restarted at random points and the CLI reads (and so writes) the same records: every record ends in its
// Workflow's final state; Workflows deleted directly or by their TTL while the controller is down end
// WORKFLOW_DELETED; runs deleted with `run delete` while the controller is down or up never come back;
// Workflows re-created under their name get the record, the earlier run kept as superseded; a record over
// the ConfigMap limit still ends SUCCEEDED, degraded; no history moves back (0 lost, 0 resurrected, 0
// regressed).
func TestSyncChaos(t *testing.T) {
	ctx := context.Background()
	kube, wfc := syncAs(t, false)
	p := &syncProcess{t: t, kube: kube, argo: wfc, opts: syncer.Options{
		Namespace: env.ns, Workers: 4, Resync: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, lease: harness.NewName("sync-chaos")} // the Lease through the ServiceAccount's RBAC too
	bin, err := env.cli.Binary() // built before the clock starts
	if err != nil {
		t.Fatal(err)
	}
	p.bin = bin
	defer p.stop()
	runs := e2eRuns(t)
	const experiment = "e2e sync"
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("KFP_ARGO_CHAOS_SEED"); v != "" {
		// Replays a failed run's plan and chaos timings (the processes' own timing still varies).
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("KFP_ARGO_CHAOS_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	var plan []planned
	outcomes := []string{"succeed", "fail", "succeed", "fail", "cancel"}
	for i := range 50 {
		o := outcomes[rng.IntN(len(outcomes))]
		via := i%2 == 0
		switch {
		case i < 4:
			o, via = "delete", true
		case i == 4:
			o, via = "ttl", true
		case i < 8:
			o = "rundelete-down"
		case i < 11:
			o = "rundelete-up"
		case i < 13:
			o = "recreate"
		case i == 13:
			o, via = "big", true
		}
		plan = append(plan, planned{name: harness.NewName(fmt.Sprintf("sync%02d", i)), outcome: o, viaCLI: via})
	}
	t.Cleanup(func() {
		for _, pl := range plan {
			_ = env.argo.ArgoprojV1alpha1().Workflows(env.ns).Delete(ctx, pl.name, metav1.DeleteOptions{})
			_ = runs.Store.DeleteRun(ctx, pl.name)
			if pl.firstUID != "" {
				_ = runs.Store.DeleteRun(ctx, experiments.SupersededRunName(pl.name, pl.firstUID))
			}
			behaviours.Delete(pl.name)
		}
	})
	var recreated sync.Map // name -> true once the recreated run's second Workflow exists

	p.start()
	newWorkflow := func(pl planned) *wfv1.Workflow {
		wf := parseWorkflow(t, syncWorkflow)
		if pl.outcome == "big" {
			fanOut(wf)
		}
		wf.Name = pl.name
		d := int64(240)
		wf.Spec.ActiveDeadlineSeconds = &d
		return wf
	}
	submitOne := func(pl planned) {
		wf := newWorkflow(pl)
		runtime := time.Duration(500+rng.IntN(5000)) * time.Millisecond
		switch pl.outcome {
		case "cancel", "delete", "rundelete-down", "rundelete-up", "recreate":
			runtime = 2 * time.Minute // still running when cancelled or deleted
		case "ttl":
			wf.Spec.TTLStrategy = &wfv1.TTLStrategy{SecondsAfterCompletion: ptrTo(int32(0))}
			runtime = 500 * time.Millisecond
		}
		fail := pl.outcome == "fail"
		name := pl.name
		vrng := rand.New(rand.NewPCG(seed, 17))
		var vmu sync.Mutex
		behaviours.Store(pl.name, standin.Func(func(task standin.Task) standin.Result {
			if fail && task.TaskName == "b" {
				return standin.Result{ExitCode: 2, Runtime: runtime}
			}
			if _, again := recreated.Load(name); again {
				return standin.Result{Runtime: 500 * time.Millisecond}
			}
			if task.TaskName == "many" {
				// Real metrics: numbers that compress poorly.
				vmu.Lock()
				defer vmu.Unlock()
				out := make(map[string]string, bigOutputs)
				for i := range bigOutputs {
					out[fmt.Sprintf("out%03d", i)] = fmt.Sprint(vrng.Float64())
				}
				return standin.Result{Runtime: runtime, Outputs: out}
			}
			return standin.Result{Runtime: runtime}
		}))
		if pl.viaCLI {
			if _, _, err := runs.Submit(ctx, experiments.SubmitRequest{Workflow: wf, RunName: pl.name, Experiment: experiment}); err != nil {
				t.Errorf("submit %s: %v", pl.name, err)
			}
			return
		}
		wf.Labels = map[string]string{experiments.LabelRun: pl.name, experiments.LabelExperiment: experiments.LabelValue(experiment)}
		wf.Annotations = map[string]string{experiments.AnnotationExperiment: experiment}
		if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Create(ctx, wf, metav1.CreateOptions{}); err != nil {
			t.Errorf("create %s: %v", pl.name, err)
		}
	}

	stopChaos := make(chan struct{})
	var bg sync.WaitGroup
	var stopOnce sync.Once
	endChaos := func() {
		stopOnce.Do(func() { close(stopChaos) })
		bg.Wait()
	}
	defer endChaos() // also when a wait below fails the test
	// The controller goes up and down at random points.
	var pauseMu sync.Mutex // held while the test keeps the controller down on purpose
	bg.Add(1)
	go func() {
		defer bg.Done()
		crng := rand.New(rand.NewPCG(seed, 11))
		for {
			select {
			case <-stopChaos:
				return
			case <-time.After(time.Duration(300+crng.IntN(1700)) * time.Millisecond):
			}
			pauseMu.Lock()
			p.stop()
			pauseMu.Unlock()
			select {
			case <-stopChaos:
				return
			case <-time.After(time.Duration(100+crng.IntN(1000)) * time.Millisecond):
			}
			pauseMu.Lock()
			p.start()
			pauseMu.Unlock()
		}
	}()
	// The CLI reads (and reconciles, so writes) the same records meanwhile, two commands at a time.
	var cliCalls, cliErrors atomic.Int32
	for g := range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			crng := rand.New(rand.NewPCG(seed, uint64(13+g)))
			for {
				select {
				case <-stopChaos:
					return
				default:
				}
				args := []string{"run", "list", "-e", experiment, "-o", "name"}
				if crng.IntN(2) == 0 {
					args = []string{"run", "get", plan[crng.IntN(len(plan))].name, "-o", "json"}
				}
				_, stderr, err := env.cli.Run(t, args...)
				cliCalls.Add(1)
				if err != nil && !strings.Contains(stderr, "not found") {
					cliErrors.Add(1)
					t.Logf("cli %v: %v %s", args, err, stderr)
				}
			}
		}()
	}

	began := time.Now()
	for _, pl := range plan {
		if pl.outcome != "ttl" {
			submitOne(pl)
		}
	}
	// Deletions while the controller is down: the records are RUNNING first.
	for _, pl := range plan {
		if pl.outcome != "delete" && pl.outcome != "rundelete-down" {
			continue
		}
		waitUntilDescribed(t, 90*time.Second, pl.name+" RUNNING", describeFor(ctx, pl.name), func() bool {
			r, err := runs.Store.GetRun(ctx, pl.name)
			return err == nil && r.State == experiments.StateRunning
		})
	}
	func() {
		pauseMu.Lock()
		defer pauseMu.Unlock()
		p.stop()
		for _, pl := range plan {
			switch pl.outcome {
			case "delete":
				if err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Delete(ctx, pl.name, metav1.DeleteOptions{}); err != nil {
					t.Errorf("delete %s: %v", pl.name, err)
				}
			case "rundelete-down":
				if err := runs.Delete(ctx, pl.name); err != nil {
					t.Errorf("run delete %s: %v", pl.name, err)
				}
			}
		}
		// A run whose Workflow finishes and is removed by its TTL while the controller is down.
		for _, pl := range plan {
			if pl.outcome == "ttl" {
				submitOne(pl)
				// Two waits, so that a timeout says whether the Workflow did not end or Argo's TTL did not act.
				waitUntilDescribed(t, 150*time.Second, pl.name+" completed", describeFor(ctx, pl.name), func() bool {
					wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
					return apierrors.IsNotFound(err) || err == nil && wf.Status.Phase.Completed()
				})
				waitUntilDescribed(t, 90*time.Second, pl.name+" removed by its TTL", func() string {
					wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
					if err != nil {
						return err.Error()
					}
					return fmt.Sprintf("finished at %s, labels %v, finalizers %v, deleting %v\n%s", wf.Status.FinishedAt.Format(time.RFC3339),
						wf.Labels, wf.Finalizers, wf.DeletionTimestamp != nil, describeWorkflow(ctx, pl.name))
				}, func() bool {
					_, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
					return apierrors.IsNotFound(err)
				})
			}
		}
		p.start()
	}()
	// `run delete` and re-creation while the controller comes and goes.
	for i := range plan {
		pl := &plan[i]
		if pl.outcome != "rundelete-up" && pl.outcome != "recreate" {
			continue
		}
		var first *wfv1.Workflow
		waitUntilDescribed(t, 90*time.Second, pl.name+" running with its record", describeFor(ctx, pl.name), func() bool {
			wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
			if err != nil || wf.Status.Phase != wfv1.WorkflowRunning {
				return false
			}
			_, err = runs.Store.GetRun(ctx, pl.name)
			first = wf
			return err == nil
		})
		if pl.outcome == "rundelete-up" {
			if err := runs.Delete(ctx, pl.name); err != nil {
				t.Errorf("run delete %s: %v", pl.name, err)
			}
			continue
		}
		// As a GitOps tool would: delete, wait until it is gone, apply the same manifest again (bare, with the
		// run labels it had).
		pl.firstUID = string(first.UID)
		if err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Delete(ctx, pl.name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", pl.name, err)
		}
		waitUntilDescribed(t, 60*time.Second, pl.name+" gone", describeFor(ctx, pl.name), func() bool {
			_, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		recreated.Store(pl.name, true)
		again := newWorkflow(*pl)
		again.Labels = map[string]string{experiments.LabelRun: first.Labels[experiments.LabelRun],
			experiments.LabelExperiment: first.Labels[experiments.LabelExperiment]}
		again.Annotations = map[string]string{experiments.AnnotationExperiment: experiment}
		if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Create(ctx, again, metav1.CreateOptions{}); err != nil {
			t.Errorf("create %s again: %v", pl.name, err)
		}
	}
	// Cancel the runs meant to be cancelled (a CLI write on the Workflow, while the controller comes and goes).
	for _, pl := range plan {
		if pl.outcome == "cancel" {
			waitUntilDescribed(t, 90*time.Second, pl.name+" started", describeFor(ctx, pl.name), func() bool {
				wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
				return err == nil && wf.Status.Phase == wfv1.WorkflowRunning
			})
			if _, err := runs.Shutdown(ctx, pl.name, wfv1.ShutdownStrategyTerminate); err != nil {
				t.Errorf("terminate %s: %v", pl.name, err)
			}
		}
	}
	// Every remaining Workflow reaches its final phase.
	for _, pl := range plan {
		if _, ok := wantState[pl.outcome]; !ok || pl.outcome == "delete" {
			continue
		}
		var last *wfv1.Workflow
		waitUntilDescribed(t, 150*time.Second, pl.name+" completed", func() string { return harness.Describe(last) + describePods(ctx, pl.name, last) }, func() bool {
			wf, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
			if err == nil {
				last = wf
			}
			return err == nil && wf.Status.Phase.Completed()
		})
	}
	endChaos()
	t.Logf("workflows done in %.1fs; controller started %d times (%d binaries killed with SIGKILL); %d CLI calls (%d failed)",
		time.Since(began).Seconds(), p.starts, p.kills, cliCalls.Load(), cliErrors.Load())

	// The last controller brings every record to its final state; nobody else writes now.
	p.start()
	check := func() []string {
		var bad []string
		for _, pl := range plan {
			r, err := runs.Store.GetRun(ctx, pl.name)
			if strings.HasPrefix(pl.outcome, "rundelete") {
				if !errors.Is(err, experiments.ErrNotFound) {
					bad = append(bad, fmt.Sprintf("%s (%s): deleted run is back: %s %v", pl.name, pl.outcome, r.State, err))
				}
				continue
			}
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s (%s): %v", pl.name, pl.outcome, err))
				continue
			}
			want := wantState[pl.outcome]
			ok := r.State == want
			if pl.outcome == "ttl" {
				// Seen finishing before the controller stopped, or only its disappearance: either way final.
				ok = r.State == experiments.StateSucceeded || r.State == experiments.StateWorkflowDeleted
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("%s (%s): state %s, want %s", pl.name, pl.outcome, r.State, want))
			}
		}
		return bad
	}
	var bad []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if bad = check(); len(bad) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Deleted runs must stay deleted through the controller's resyncs (every 3 s here) and CLI reads, not only
	// until the first check: watch two more resync periods, then read through the CLI once more.
	if len(bad) == 0 {
		time.Sleep(2 * p.opts.Resync)
		if _, stderr, err := env.cli.Run(t, "run", "list", "-e", experiment, "-o", "name"); err != nil {
			t.Errorf("run list: %v %s", err, stderr)
		}
		bad = check()
	}
	for _, b := range bad {
		t.Error(b)
	}
	counts := map[experiments.State]int{}
	lost, resurrected, regressed := 0, 0, 0
	for _, pl := range plan {
		if strings.HasPrefix(pl.outcome, "rundelete") {
			if _, err := runs.Store.GetRun(ctx, pl.name); !errors.Is(err, experiments.ErrNotFound) {
				resurrected++
			}
			if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s: workflow of a deleted run still there: %v", pl.name, err)
			}
			continue
		}
		r, err := runs.Store.GetRun(ctx, pl.name)
		if err != nil {
			lost++
			continue
		}
		counts[r.State]++
		for i := 1; i < len(r.History); i++ {
			if stateRank(r.History[i].State) < stateRank(r.History[i-1].State) && !strings.HasPrefix(r.History[i].Reason, "retry") {
				regressed++
				t.Errorf("%s: history moves back: %s", pl.name, states(r))
				break
			}
		}
		switch pl.outcome {
		case "recreate":
			live, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Get(ctx, pl.name, metav1.GetOptions{})
			if err != nil || r.Workflow.UID != string(live.UID) || r.Workflow.UID == pl.firstUID {
				t.Errorf("%s: record tracks workflow %s, want the re-created one (%v)", pl.name, r.Workflow.UID, err)
			}
			prev, err := runs.Store.GetRun(ctx, experiments.SupersededRunName(pl.name, pl.firstUID))
			if err != nil {
				lost++
				t.Errorf("%s: the first run's record is lost: %v", pl.name, err)
			} else if !prev.State.Terminal() || prev.Workflow.UID != pl.firstUID {
				t.Errorf("%s: superseded record %s of workflow %s, want terminal, %s", prev.Name, prev.State, prev.Workflow.UID, pl.firstUID)
			}
		case "big":
			total := 0
			for _, n := range r.TaskCounts() {
				total += n
			}
			t.Logf("%s: record %s, %d bytes; %d of %d task rows, %d metrics kept", pl.name, r.Encoding, r.Encoding.Bytes,
				len(r.Tasks), total, len(r.Metrics))
			if !r.Encoding.Degraded() || total < 100 {
				t.Errorf("%s: record %s with %d tasks counted, want a degraded record counting every task", pl.name, r.Encoding, total)
			}
		}
		if pl.outcome == "delete" && !strings.Contains(r.Error, "deleted") {
			t.Errorf("%s: WORKFLOW_DELETED without a reason: %q", pl.name, r.Error)
		}
		// Never regressed: nothing after the first terminal state.
		for i, h := range r.History {
			if h.State.Terminal() && i != len(r.History)-1 {
				t.Errorf("%s: history continues after terminal %s: %s", pl.name, h.State, states(r))
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for s := range counts {
		keys = append(keys, string(s))
	}
	sort.Strings(keys)
	var summary []string
	for _, k := range keys {
		summary = append(summary, fmt.Sprintf("%s=%d", k, counts[experiments.State(k)]))
	}
	t.Logf("final records: %s; lost %d, resurrected %d, regressed %d", strings.Join(summary, " "), lost, resurrected, regressed)
	if lost+resurrected+regressed > 0 {
		t.Errorf("lost %d, resurrected %d, regressed %d; want 0", lost, resurrected, regressed)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	waitUntilDescribed(t, timeout, what, func() string { return "" }, cond)
}

// describeFor describes the Workflow of that name and its pods, for waitUntilDescribed.
func describeFor(ctx context.Context, name string) func() string {
	return func() string { return describeWorkflow(ctx, name) }
}

// waitUntilDescribed is waitUntil that says, on a timeout, what describe reports then.
func waitUntilDescribed(t *testing.T, timeout time.Duration, what string, describe func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, describe())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSyncFinalizer: in finalizer mode (with the finalizer Role) a running Workflow carries the finalizer; a
// Workflow deleted while running stays until its record is WORKFLOW_DELETED, then goes; a Workflow that
// finishes loses the finalizer and stays.
func TestSyncFinalizer(t *testing.T) {
	ctx := context.Background()
	kube, wfc := syncAs(t, true)
	t.Cleanup(func() { // later tests get the default (non-finalizer) permissions again
		_ = env.kube.RbacV1().RoleBindings(env.ns).Delete(ctx, "kfp-argo-sync-finalizer", metav1.DeleteOptions{})
		_ = env.kube.RbacV1().Roles(env.ns).Delete(ctx, "kfp-argo-sync-finalizer", metav1.DeleteOptions{})
	})
	p := &syncProcess{t: t, kube: kube, argo: wfc, opts: syncer.Options{
		Namespace: env.ns, Workers: 2, Resync: 5 * time.Second, Finalizer: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	p.start()
	defer p.stop()
	runs := e2eRuns(t)
	wfs := env.argo.ArgoprojV1alpha1().Workflows(env.ns)
	submitRun := func(name string, runtime time.Duration) {
		wf := parseWorkflow(t, syncWorkflow)
		wf.Name = name
		behaviours.Store(name, standin.Func(func(standin.Task) standin.Result { return standin.Result{Runtime: runtime} }))
		t.Cleanup(func() {
			behaviours.Delete(name)
			_ = wfs.Delete(ctx, name, metav1.DeleteOptions{})
			_ = runs.Store.DeleteRun(ctx, name)
		})
		if _, _, err := runs.Submit(ctx, experiments.SubmitRequest{Workflow: wf, RunName: name, Experiment: "e2e sync"}); err != nil {
			t.Fatal(err)
		}
	}
	hasFinalizer := func(name string) bool {
		wf, err := wfs.Get(ctx, name, metav1.GetOptions{})
		return err == nil && containsString(wf.Finalizers, syncer.Finalizer)
	}
	long, short := harness.NewName("fin-del"), harness.NewName("fin-ok")
	submitRun(long, 2*time.Minute)
	submitRun(short, 300*time.Millisecond)
	waitUntil(t, 60*time.Second, long+" has the finalizer", func() bool { return hasFinalizer(long) })
	waitUntil(t, 60*time.Second, long+" RUNNING", func() bool {
		r, err := runs.Store.GetRun(ctx, long)
		return err == nil && r.State == experiments.StateRunning
	})
	if err := wfs.Delete(ctx, long, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, long+" gone", func() bool {
		_, err := wfs.Get(ctx, long, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if r, err := runs.Store.GetRun(ctx, long); err != nil || r.State != experiments.StateWorkflowDeleted {
		t.Errorf("record of the workflow deleted while running: %s %v", r.State, err)
	}
	waitUntil(t, 60*time.Second, short+" SUCCEEDED without the finalizer", func() bool {
		r, err := runs.Store.GetRun(ctx, short)
		return err == nil && r.State == experiments.StateSucceeded && !hasFinalizer(short)
	})
	if _, err := wfs.Get(ctx, short, metav1.GetOptions{}); err != nil {
		t.Errorf("finished workflow: %v", err)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestSyncBinary: the built `kfp-argo sync` serves /healthz, /readyz and /metrics on loopback, keeps a run's
// record, holds the Lease with --leader-elect, and exits 0 on SIGTERM.
func TestSyncBinary(t *testing.T) {
	ctx := context.Background()
	bin, err := env.cli.Binary()
	if err != nil {
		t.Fatal(err)
	}
	lease := harness.NewName("sync-lease")
	cmd := exec.Command(bin, "sync", "--kubeconfig", env.cluster.Kubeconfig(), "-n", env.ns, "--metrics-addr", "127.0.0.1:0",
		"--leader-elect", "--leader-elect-name", lease, "--resync", "10s", "--log-format", "json")
	cmd.Env = append(os.Environ(), "KUBECONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addrCh := make(chan string, 1)
	var logMu sync.Mutex
	var logBuf strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logBuf.WriteString(line + "\n")
			logMu.Unlock()
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "serving metrics and health" {
				addrCh <- fmt.Sprint(rec["addr"])
			}
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("sync log:\n%s", logBuf.String())
			logMu.Unlock()
		}
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case <-time.After(30 * time.Second):
		t.Fatal("no 'serving metrics and health' log line")
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("metrics address %q, want loopback", addr)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitUntil(t, 30*time.Second, "/readyz 200", func() bool { code, _ := get("/readyz"); return code == 200 })
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	waitUntil(t, 30*time.Second, "lease held", func() bool {
		l, err := env.kube.CoordinationV1().Leases(env.ns).Get(ctx, lease, metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != ""
	})
	// A bare labelled Workflow gets its record from the binary.
	name := harness.NewName("sync-bin")
	wf := parseWorkflow(t, syncWorkflow)
	wf.Name = name
	wf.Labels = map[string]string{experiments.LabelRun: name}
	behaviours.Store(name, standin.Func(func(standin.Task) standin.Result { return standin.Result{} }))
	runs := e2eRuns(t)
	t.Cleanup(func() {
		behaviours.Delete(name)
		_ = env.argo.ArgoprojV1alpha1().Workflows(env.ns).Delete(ctx, name, metav1.DeleteOptions{})
		_ = runs.Store.DeleteRun(ctx, name)
	})
	if _, err := env.argo.ArgoprojV1alpha1().Workflows(env.ns).Create(ctx, wf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, name+" SUCCEEDED", func() bool {
		r, err := runs.Store.GetRun(ctx, name)
		return err == nil && r.State == experiments.StateSucceeded
	})
	_, body := get("/metrics")
	for _, m := range []string{"kfp_argo_sync_record_writes_total", "kfp_argo_sync_queue_depth", "kfp_argo_sync_lag_seconds_count"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sync did not exit within 30s of SIGTERM")
	}
	// The Lease was released on the way out.
	l, err := env.kube.CoordinationV1().Leases(env.ns).Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
		t.Errorf("lease still held by %q after shutdown", *l.Spec.HolderIdentity)
	}
}
