package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// FieldManager owns everything the harness applies.
const FieldManager = "kfp-argo-e2e"

const controllerConfigMap = "workflow-controller-configmap"

// ArtifactBucket is the bucket of the configured (never contacted) S3
// artifact repository. Output artifacts get keys in it, nothing is uploaded:
// pods don't run. The endpoint is in the reserved .invalid domain so a
// stray real upload could not reach anything.
const (
	ArtifactBucket   = "kfp-argo-e2e"
	ArtifactEndpoint = "s3.kfp-argo-e2e.invalid:9000"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

type clients struct {
	kube    kubernetes.Interface
	dynamic dynamic.Interface
	argo    argoclient.Interface
}

func newClients(cfg *rest.Config) (*clients, error) {
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	a, err := argoclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &clients{kube: k, dynamic: d, argo: a}, nil
}

// controllerConfig is the workflow-controller-configmap data. The metrics
// and telemetry listeners are off because they bind every interface on
// fixed ports and panic when two clusters run on one machine.
func (c *Cluster) controllerConfig() map[string]string {
	data := map[string]string{
		"metricsConfig":   "enabled: false\n",
		"telemetryConfig": "enabled: false\n",
		"artifactRepository": fmt.Sprintf(`archiveLogs: false
s3:
  bucket: %s
  endpoint: %s
  insecure: true
  useSDKCreds: true
`, ArtifactBucket, ArtifactEndpoint),
	}
	if c.s3 != nil {
		// The real repository keeps the main containers' logs too.
		data["artifactRepository"] = fmt.Sprintf(`archiveLogs: true
s3:
  bucket: %s
  endpoint: %s
  insecure: true
  region: %s
  accessKeySecret:
    name: %s
    key: accesskey
  secretKeySecret:
    name: %s
    key: secretkey
`, c.s3.Bucket, c.s3.Endpoint, c.s3.Region, S3SecretName, S3SecretName)
		// No CNI: pods share the host's (loopback-only) network, where
		// the apiserver is 127.0.0.1:<port>, not the service IP the
		// kubelet would inject. Images were imported, never pulled:
		// IfNotPresent keeps `:latest` images from being pulled too.
		data["executor"] = fmt.Sprintf(`imagePullPolicy: IfNotPresent
env:
- name: KUBERNETES_SERVICE_HOST
  value: 127.0.0.1
- name: KUBERNETES_SERVICE_PORT
  value: "%d"
`, c.ports.apiserver)
		data["workflowDefaults"] = `spec:
  hostNetwork: true
  dnsPolicy: Default
  templateDefaults:
    container:
      imagePullPolicy: IfNotPresent
`
	}
	for k, v := range c.opts.ControllerConfig {
		data[k] = v
	}
	return data
}

// setup applies Argo's CRDs and the objects the controller needs, all
// server-side: the workflows CRD is too large for client-side apply's
// last-applied annotation, and server-side apply does not race the
// serviceaccount controller creating the same `default` ServiceAccount.
func (c *Cluster) setup(ctx context.Context, cs *clients) error {
	entries, err := os.ReadDir(c.opts.CRDDir)
	if err != nil {
		return err
	}
	force := true
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "argoproj.io_") || !strings.HasSuffix(e.Name(), ".yaml") {
			continue // kustomization.yaml, README.md
		}
		raw, err := os.ReadFile(filepath.Join(c.opts.CRDDir, e.Name()))
		if err != nil {
			return err
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(js); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		if _, err := cs.dynamic.Resource(crdGVR).Patch(ctx, u.GetName(), types.ApplyPatchType, js,
			metav1.PatchOptions{FieldManager: FieldManager, Force: &force}); err != nil {
			return fmt.Errorf("apply CRD %s: %w", u.GetName(), err)
		}
		names = append(names, u.GetName())
	}
	if len(names) == 0 {
		return fmt.Errorf("no argoproj.io_*.yaml CRDs in %s", c.opts.CRDDir)
	}

	ns := c.opts.Namespace
	apply := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if _, err := cs.kube.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(ns), apply); err != nil {
		return err
	}
	// The ServiceAccount admission plugin rejects pods whose account does
	// not exist yet; don't wait for the controller to make it.
	if _, err := cs.kube.CoreV1().ServiceAccounts(ns).Apply(ctx, corev1ac.ServiceAccount("default", ns), apply); err != nil {
		return err
	}
	if _, err := cs.kube.CoreV1().ConfigMaps(ns).Apply(ctx,
		corev1ac.ConfigMap(controllerConfigMap, ns).WithData(c.controllerConfig()), apply); err != nil {
		return err
	}
	if c.s3 != nil {
		if err := c.setupRealPods(ctx, cs, apply); err != nil {
			return err
		}
	} else {
		node := corev1ac.Node(NodeName).
			WithLabels(map[string]string{nodeLabel: nodeValue, "kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux"}).
			WithAnnotations(map[string]string{"kwok.x-k8s.io/node": "fake"})
		if _, err := cs.kube.CoreV1().Nodes().Apply(ctx, node, apply); err != nil {
			return err
		}
	}

	return c.poll(ctx, "CRDs established", func() (bool, error) {
		for _, n := range names {
			u, err := cs.dynamic.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			established := false
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					established = true
				}
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})
}

// setupRealPods gives the namespace what Argo's executor needs in a real
// pod: the S3 credentials, and RBAC for the `default` ServiceAccount the pods
// run as (task results to create and patch, secrets for the artifact
// repository, its own pod, claims for resource templates).
func (c *Cluster) setupRealPods(ctx context.Context, cs *clients, apply metav1.ApplyOptions) error {
	ns := c.opts.Namespace
	secret := corev1ac.Secret(S3SecretName, ns).WithStringData(map[string]string{
		"accesskey": c.s3.AccessKey,
		"secretkey": c.s3.SecretKey,
	})
	if _, err := cs.kube.CoreV1().Secrets(ns).Apply(ctx, secret, apply); err != nil {
		return err
	}
	role := rbacv1ac.Role("kfp-argo-e2e-executor", ns).WithRules(
		rbacv1ac.PolicyRule().WithAPIGroups("argoproj.io").WithResources("workflowtaskresults").
			WithVerbs("create", "patch", "get", "list", "watch", "update"),
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("pods").WithVerbs("get", "watch", "patch"),
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("pods/log").WithVerbs("get"),
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("secrets", "configmaps").WithVerbs("get"),
		// KFP's CreatePVC/DeletePVC compile to resource templates, which
		// `argoexec resource` runs with the pod's account.
		rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("persistentvolumeclaims").
			WithVerbs("create", "delete", "get", "list", "watch", "patch", "update"),
	)
	if _, err := cs.kube.RbacV1().Roles(ns).Apply(ctx, role, apply); err != nil {
		return err
	}
	binding := rbacv1ac.RoleBinding("kfp-argo-e2e-executor", ns).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName("kfp-argo-e2e-executor")).
		WithSubjects(rbacv1ac.Subject().WithKind("ServiceAccount").WithName("default").WithNamespace(ns))
	_, err := cs.kube.RbacV1().RoleBindings(ns).Apply(ctx, binding, apply)
	return err
}

func (c *Cluster) waitNodeReady(ctx context.Context, cs *clients) error {
	return c.poll(ctx, "node "+NodeName+" Ready", func() (bool, error) {
		n, err := cs.kube.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// runCanary submits a one-pod workflow and waits for it to succeed: the
// controller's informers are synced, the scheduler binds, kwok runs pods.
// The pod's exit-code label lets it finish without the executor stand-in.
func (c *Cluster) runCanary(ctx context.Context, cs *clients) error {
	deadline := int64(120)
	main := wfv1.Template{
		Name:      "main",
		Metadata:  wfv1.Metadata{Labels: map[string]string{ExitCodeLabel: "0"}},
		Container: &corev1.Container{Image: "busybox", Command: []string{"true"}},
	}
	if c.s3 != nil {
		// A real pod: the executor image itself, running the argoexec
		// that Argo's init container copies into every pod.
		main = wfv1.Template{
			Name:      "main",
			Container: &corev1.Container{Image: c.ExecutorImage(), Command: []string{"/var/run/argo/argoexec", "version"}},
		}
	}
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-canary-"},
		Spec: wfv1.WorkflowSpec{
			Entrypoint:            "main",
			ActiveDeadlineSeconds: &deadline,
			Templates:             []wfv1.Template{main},
		},
	}
	wfs := cs.argo.ArgoprojV1alpha1().Workflows(c.opts.Namespace)
	created, err := wfs.Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	var last *wfv1.Workflow
	err = c.poll(ctx, "canary workflow "+created.Name, func() (bool, error) {
		w, err := wfs.Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = w
		switch w.Status.Phase {
		case wfv1.WorkflowSucceeded:
			return true, nil
		case wfv1.WorkflowFailed, wfv1.WorkflowError:
			return false, fmt.Errorf("canary %s ended %s: %s", w.Name, w.Status.Phase, w.Status.Message)
		}
		return false, nil
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w (last phase %q, message %q)", err, last.Status.Phase, last.Status.Message)
	}
	if err != nil {
		return err
	}
	bg := metav1.DeletePropagationBackground
	delCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return wfs.Delete(delCtx, created.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
}
