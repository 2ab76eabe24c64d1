package argo

import (
	"fmt"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClientOptions are kubectl's connection flags: --kubeconfig, --context and -n/--namespace.
type ClientOptions struct {
	// Kubeconfig is a kubeconfig file; empty means kubectl's rules ($KUBECONFIG, then ~/.kube/config, then
	// the in-cluster config).
	Kubeconfig string
	// Context picks a context of the kubeconfig; empty means its current context.
	Context string
	// Namespace overrides the context's namespace; with neither, "default".
	Namespace string
}

// Clients are the API clients of one namespace.
type Clients struct {
	Kube kubernetes.Interface
	Argo wfclientset.Interface
	// Dynamic sends manifests as printed (ServerDryRun).
	Dynamic   dynamic.Interface
	Namespace string
}

// NewClients builds clients the way kubectl resolves its flags, so `-n`, `--context` and `--kubeconfig` mean
// what users expect from kubectl and argo.
func NewClients(o ClientOptions) (*Clients, error) {
	cfg, ns, err := RESTConfig(o)
	if err != nil {
		return nil, err
	}
	return NewClientsForConfig(cfg, ns)
}

// RESTConfig resolves the kubeconfig, context and namespace like kubectl; callers that tune the client (QPS,
// user agent) start here.
func RESTConfig(o ClientOptions) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	overrides.Context.Namespace = o.Namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig namespace: %w", err)
	}
	return cfg, ns, nil
}

// NewClientsForConfig builds clients from a REST config (tests, in-cluster controllers).
func NewClientsForConfig(cfg *rest.Config, namespace string) (*Clients, error) {
	if namespace == "" {
		namespace = "default"
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	wf, err := wfclientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("argo workflows client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return &Clients{Kube: kube, Argo: wf, Dynamic: dyn, Namespace: namespace}, nil
}

// Workflows returns the Workflow operations of the clients' namespace.
func (c *Clients) Workflows() *Workflows { return NewWorkflows(c.Argo, c.Kube, c.Namespace) }
