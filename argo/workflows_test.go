package argo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// apiRecorder is an HTTP server standing in for the API server: it records requests and answers with
// the Workflow it was sent (or a canned one), which is all the client code under test reads.
type apiRecorder struct {
	mu   sync.Mutex
	reqs []string // "METHOD path?query body"
}

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+string(body))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		_, _ = w.Write(body)
		return
	}
	_ = json.NewEncoder(w).Encode(&wfv1.Workflow{TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ns"}})
}

func recorderClients(t *testing.T) (*apiRecorder, *Workflows) {
	t.Helper()
	rec := &apiRecorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := NewClientsForConfig(&rest.Config{Host: srv.URL}, "ns")
	if err != nil {
		t.Fatal(err)
	}
	return rec, c.Workflows()
}

func TestCreateServerDryRunSendsDryRunAll(t *testing.T) {
	rec, wfs := recorderClients(t)
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "w"}}
	if _, err := wfs.Create(context.Background(), wf, true); err != nil {
		t.Fatal(err)
	}
	if _, err := wfs.Create(context.Background(), wf, false); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("requests %v", rec.reqs)
	}
	if !strings.HasPrefix(rec.reqs[0], "POST /apis/argoproj.io/v1alpha1/namespaces/ns/workflows?dryRun=All ") {
		t.Errorf("dry run request %q", rec.reqs[0])
	}
	if strings.Contains(rec.reqs[1], "dryRun") {
		t.Errorf("real create carried dryRun: %q", rec.reqs[1])
	}
}

func TestShutdownPatchesSpec(t *testing.T) {
	rec, wfs := recorderClients(t)
	if _, err := wfs.Shutdown(context.Background(), "w", wfv1.ShutdownStrategyStop); err != nil {
		t.Fatal(err)
	}
	want := `PATCH /apis/argoproj.io/v1alpha1/namespaces/ns/workflows/w? {"spec":{"shutdown":"Stop"}}`
	if len(rec.reqs) != 1 || rec.reqs[0] != want {
		t.Errorf("requests %q, want %q", rec.reqs, want)
	}
}

func TestNewAttempt(t *testing.T) {
	yes := true
	old := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", UID: "u1", ResourceVersion: "9", Generation: 3,
			Labels:      map[string]string{"kfp-argo.io/run": "r", "workflows.argoproj.io/completed": "true", "workflows.argoproj.io/phase": "Failed"},
			Annotations: map[string]string{"kfp-argo.io/task-names": "{}", "workflows.argoproj.io/pod-name-format": "v2", "workflows.argoproj.io/scheduled-time": "x"},
			Finalizers:  []string{"workflows.argoproj.io/artifact-gc"}},
		Spec:   wfv1.WorkflowSpec{Entrypoint: "main", Shutdown: wfv1.ShutdownStrategyTerminate, Suspend: &yes},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowFailed, Nodes: wfv1.Nodes{"r": {}}},
	}
	got := NewAttempt(old, map[string]string{"kfp-argo.io/retry-count": "2"})
	if got.Name != "r" || got.Namespace != "ns" || got.UID != "" || got.ResourceVersion != "" || len(got.Finalizers) != 0 {
		t.Errorf("metadata %+v", got.ObjectMeta)
	}
	if len(got.Labels) != 1 || got.Labels["kfp-argo.io/run"] != "r" {
		t.Errorf("labels %v: Argo's execution labels must go, ours stay", got.Labels)
	}
	if got.Annotations["kfp-argo.io/task-names"] != "{}" || got.Annotations["workflows.argoproj.io/pod-name-format"] != "v2" ||
		got.Annotations["kfp-argo.io/retry-count"] != "2" || got.Annotations["workflows.argoproj.io/scheduled-time"] != "" {
		t.Errorf("annotations %v", got.Annotations)
	}
	if got.Spec.Shutdown != "" || got.Spec.Suspend != nil || got.Spec.Entrypoint != "main" || got.Status.Phase != "" || got.Status.Nodes != nil {
		t.Errorf("spec/status not reset: %+v %+v", got.Spec, got.Status)
	}
	if old.Spec.Shutdown != wfv1.ShutdownStrategyTerminate {
		t.Error("NewAttempt changed its input")
	}
}

func TestNewClientsResolvesNamespaceLikeKubectl(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	err := os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: a
  context: {cluster: c, user: u, namespace: team-a}
- name: b
  context: {cluster: c, user: u}
current-context: a
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", "")
	tests := []struct {
		opts ClientOptions
		want string
	}{
		{ClientOptions{Kubeconfig: cfg}, "team-a"},
		{ClientOptions{Kubeconfig: cfg, Namespace: "x"}, "x"},
		{ClientOptions{Kubeconfig: cfg, Context: "b"}, "default"},
	}
	for _, tc := range tests {
		c, err := NewClients(tc.opts)
		if err != nil {
			t.Fatalf("%+v: %v", tc.opts, err)
		}
		if c.Namespace != tc.want {
			t.Errorf("%+v: namespace %q, want %q", tc.opts, c.Namespace, tc.want)
		}
	}
	if _, err := NewClients(ClientOptions{Kubeconfig: cfg, Context: "nope"}); err == nil {
		t.Error("unknown context accepted")
	}
}
