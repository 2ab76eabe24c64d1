package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/experiments"
)

// s3Objects is an HTTP server answering S3 GetObject (path-style) for the objects it holds, and only for
// requests signed with the expected access key: enough S3 for minio-go to read through.
func s3Objects(t *testing.T, objects map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDUI/") {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
			return
		}
		body, ok := objects[r.URL.Path]
		if r.Method != http.MethodGet || !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`))
			return
		}
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Mar 2026 09:00:00 GMT")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestArtifactContents(t *testing.T) {
	markdown := "# Results " + xss + "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n"
	htmlDoc := `<html><body><h2>chart</h2>` + xss + `</body></html>`
	run := "vis"
	// The fixture's artifact keys: <run>/<node id>/<artifact>.tgz; node IDs count from 1000.
	srv := s3Objects(t, map[string]string{
		"/bucket/" + run + "/" + run + "-1000/report.tgz": markdown,
		"/bucket/" + run + "/" + run + "-1000/page.tgz":   htmlDoc,
		"/bucket/nocred/nocred-1000/report.tgz":           markdown,
	})
	u, _ := url.Parse(srv.URL)
	insecure := true
	repo := &wfv1.S3Bucket{Endpoint: u.Host, Bucket: "bucket", Insecure: &insecure,
		AccessKeySecret: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s3-cred"}, Key: "access"},
		SecretKeySecret: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s3-cred"}, Key: "secret"}}
	tasks := []fakeTask{{name: "show", phase: wfv1.NodeSucceeded, artifacts: map[string]string{
		"report":  `{"schemaTitle":"system.Markdown","metadata":{}}`,
		"page":    `{"schemaTitle":"system.HTML","metadata":{}}`,
		"missing": `{"schemaTitle":"system.Markdown","metadata":{}}`,
	}}}
	c := newCluster(t, []experiments.Experiment{{Name: "e"}}, []fakeRun{
		{name: run, exp: "e", phase: wfv1.WorkflowSucceeded, repo: repo, tasks: tasks},
		{name: "nocred", exp: "e", phase: wfv1.WorkflowSucceeded, repo: repo, tasks: tasks},
	})
	h := c.server(t).Handler()

	// Without the Secret: the page names it.
	_, body := get(t, h, ns("/runs/nocred"))
	mustContain(t, "no secret", body, "artifact repository secret s3-cred")

	if _, err := c.kube.CoreV1().Secrets(testNS).Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3-cred"},
		Data: map[string][]byte{"access": []byte("AKIDUI"), "secret": []byte("s3cr3t")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, h, ns("/runs/"+run))
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	mustContain(t, "markdown", body, `<div class="visual markdown"><h1>Results <!-- raw HTML omitted -->`, "<table>", "<td>1</td>",
		`<iframe class="visual" sandbox="" title="show / page" srcdoc="&lt;html&gt;&lt;body&gt;&lt;h2&gt;chart&lt;/h2&gt;&lt;script&gt;`,
		"s3://bucket/vis/vis-1000/missing.tgz: The specified key does not exist.")
	if strings.Contains(body, "<img src=x") || strings.Contains(body, `href="javascript:`) {
		t.Errorf("markdown let markup or a javascript: link through:\n%s", body)
	}
	noRawScript(t, "artifacts", body)

	// Compare shows both runs' visualisations side by side.
	_, body = get(t, h, ns("/compare?run="+run+"&run=nocred"))
	if n := strings.Count(body, `<div class="visual markdown"><h1>`); n != 2 {
		t.Errorf("compare shows %d rendered Markdown artifacts, want 2 side by side", n)
	}
}

// TestArtifactUnreachable: a repository nobody answers at is reported once per page, with the reason.
func TestArtifactUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(srv.URL)
	srv.Close()
	insecure := true
	tasks := []fakeTask{{name: "show", phase: wfv1.NodeSucceeded, artifacts: map[string]string{
		"a": `{"schemaTitle":"system.Markdown","metadata":{}}`, "b": `{"schemaTitle":"system.Markdown","metadata":{}}`}}}
	c := newCluster(t, []experiments.Experiment{{Name: "e"}}, []fakeRun{{name: "r", exp: "e", phase: wfv1.WorkflowSucceeded,
		repo: &wfv1.S3Bucket{Endpoint: u.Host, Bucket: "bucket", Insecure: &insecure}, tasks: tasks}})
	_, body := get(t, c.server(t).Handler(), ns("/runs/r"))
	if n := strings.Count(body, "connection refused"); n != 2 {
		t.Errorf("%d notes say connection refused, want 2:\n%s", n, body)
	}
}
