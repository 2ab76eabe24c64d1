package ui

import (
	"context"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"

	"github.com/kfp-argo/kfp-argo/experiments"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func mustContain(t *testing.T, page, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", page, w)
		}
	}
}

// noRawScript: every <script> in the fixtures arrives escaped; the only script element is our asset.
func noRawScript(t *testing.T, page, body string) {
	t.Helper()
	if strings.Contains(body, `<script>alert`) {
		t.Errorf("%s: unescaped <script> from a record", page)
	}
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if m != `<script src="/assets/app.js" defer>` {
			t.Errorf("%s: unexpected script element %s", page, m)
		}
	}
}

func ns(p string) string { return "/ns/" + testNS + p }

func TestPages(t *testing.T) {
	exps, runs := standardRuns()
	c := newCluster(t, exps, runs)
	h := c.server(t).Handler()

	code, body := get(t, h, "/")
	if code != 200 {
		t.Fatalf("/: %d %s", code, body)
	}
	mustContain(t, "experiments", body, ">iris<", "sweep &lt;script&gt;", "classifiers &lt;script&gt;", "2 SUCCEEDED", "1 FAILED", "1 RUNNING", "1 CANCELED",
		`href="/ns/team-a/experiments/sweep%20%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E"`)
	noRawScript(t, "experiments", body)

	code, body = get(t, h, ns("/experiments/iris"))
	if code != 200 {
		t.Fatalf("runs: %d %s", code, body)
	}
	mustContain(t, "runs", body, "iris A &lt;script&gt;", `data-state="RUNNING"`, `data-state="FAILED"`, ">lr<", ">0.01<", "evaluate.accuracy", ">0.95<",
		`<span class="empty">(empty)</span>`, `title="not set in this run"`, `name="run" value="iris-b"`)
	if strings.Contains(body, "sweep-ok") {
		t.Error("runs page of iris lists a run of another experiment")
	}
	noRawScript(t, "runs", body)

	code, body = get(t, h, ns("/runs/iris-a"))
	if code != 200 {
		t.Fatalf("run: %d %s", code, body)
	}
	mustContain(t, "run", body, `class="graph"`, `class="edge"`, "st-skipped", "kind-condition", `class="timeline"`,
		"s3://artifacts/iris-a/", "system.Markdown", "names no S3 endpoint and bucket", `class="confusion"`, `src="data:image/svg&#43;xml;base64,`,
		"note</b> = &lt;script&gt;", "argo get -n team-a iris-a")
	// Three edges: prepare->train, train->evaluate, evaluate->notify.
	if n := strings.Count(body, `class="edge"`); n != 3 {
		t.Errorf("run graph has %d edges, want 3", n)
	}
	noRawScript(t, "run", body)

	code, body = get(t, h, ns("/runs/iris-running"))
	mustContain(t, "running run", body, `data-terminal="false"`, `data-refresh="/ns/team-a/runs/iris-running?fragment=1"`)
	code, frag := get(t, h, ns("/runs/iris-running?fragment=1"))
	if code != 200 || strings.Contains(frag, "<html") || !strings.Contains(frag, `id="run-iris-running"`) {
		t.Errorf("fragment: %d %.200s", code, frag)
	}

	code, body = get(t, h, ns("/compare?run=iris-a&run=iris-b"))
	if code != 200 {
		t.Fatalf("compare: %d %s", code, body)
	}
	mustContain(t, "compare", body, "ROC curves", "Confusion matrices", `class="differs"`, "★", "evaluate.accuracy", "Visualisations")
	// The best accuracy is iris-b's 0.95 (higher is better); the best train.loss is not marked, being equal.
	if !regexp.MustCompile(`best">0.95 <span class="star"`).MatchString(body) {
		t.Errorf("best accuracy not marked")
	}
	if n := strings.Count(body, `<table class="confusion">`); n != 2 {
		t.Errorf("%d confusion matrices, want 2 side by side", n)
	}
	noRawScript(t, "compare", body)
	rocs := regexp.MustCompile(`class="chart roc" alt="[^"]*" src="data:image/svg\+xml;base64,([^"]+)"`).FindAllStringSubmatch(html.UnescapeString(body), -1)
	if len(rocs) != 1 {
		t.Fatalf("%d ROC charts, want 1 overlay", len(rocs))
	}
	svg, err := base64.StdEncoding.DecodeString(rocs[0][1])
	if err != nil || !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "iris-a") || !strings.Contains(string(svg), "iris-b") {
		t.Errorf("ROC overlay SVG (err %v) lacks the two runs: %.300s", err, svg)
	}

	code, _ = get(t, h, "/assets/style.css")
	if code != 200 {
		t.Errorf("style.css: %d", code)
	}

	// Read-only: no page wrote anything.
	for _, a := range append(c.kube.Actions(), c.argo.Actions()...) {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			t.Errorf("the UI wrote: %s %s", v, a.GetResource().Resource)
		}
	}
}

func TestNotFound(t *testing.T) {
	exps, runs := standardRuns()
	h := newCluster(t, exps, runs).server(t).Handler()
	for path, want := range map[string]string{
		ns("/experiments/nope"):            `experiment &#34;nope&#34; in namespace &#34;team-a&#34; not found`,
		ns("/runs/nope"):                   `run &#34;nope&#34; in namespace &#34;team-a&#34; not found`,
		ns("/runs/" + url.PathEscape(xss)): `run &#34;&lt;script&gt;alert(\&#34;x\&#34;)&lt;/script&gt;&#34; in namespace`,
		"/ns/other/experiments/iris":       `namespace &#34;other&#34;`,
		ns("/compare?run=iris-a&run=nope"): `run &#34;nope&#34;`,
		"/nothing/here":                    "There is no page at /nothing/here",
		ns("/runs/iris-a/logs?pod=x"):      `pod &#34;x&#34; of run &#34;iris-a&#34; not found`,
	} {
		code, body := get(t, h, path)
		if code != http.StatusNotFound || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 404 with %q:\n%.600s", path, code, want, body)
		}
		noRawScript(t, path, body)
	}
	if code, body := get(t, h, ns("/compare?run=iris-a")); code != http.StatusBadRequest || !strings.Contains(body, "2 to 10 runs") {
		t.Errorf("compare of one run: %d %.300s", code, body)
	}
}

// TestUnreachable: an API server that refuses connections gives a page that says so, no stack trace.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	cfg := &rest.Config{Host: addr}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := wfclientset.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{Kube: kube, Argo: wf, Namespace: testNS, APIServer: addr})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", ns("/experiments/iris"), ns("/runs/x"), ns("/compare?run=a&run=b")} {
		code, body := get(t, s.Handler(), p)
		if code != http.StatusBadGateway || !strings.Contains(body, "Kubernetes API server unreachable") || !strings.Contains(body, addr) ||
			strings.Contains(body, "goroutine") {
			t.Errorf("%s: %d %.500s", p, code, body)
		}
	}
}

func TestForbidden(t *testing.T) {
	exps, runs := standardRuns()
	c := newCluster(t, exps, runs)
	c.kube.PrependReactor("list", "configmaps", func(a k8stesting.Action) (bool, runtimeObject, error) {
		return true, nil, forbidden()
	})
	code, body := get(t, c.server(t).Handler(), "/")
	if code != http.StatusForbidden || !strings.Contains(body, "Your credentials may not read this") {
		t.Errorf("%d %.400s", code, body)
	}
}

func TestReport(t *testing.T) {
	exps, runs := standardRuns()
	c := newCluster(t, exps, runs)
	s := c.server(t)
	var out strings.Builder
	if err := s.Report(context.Background(), &out, ReportRequest{Experiment: "iris"}); err != nil {
		t.Fatal(err)
	}
	body := out.String()
	mustContain(t, "report", body, "<style>", "ROC curves", `<table class="confusion">`, `id="run-iris-a"`, `id="run-iris-running"`,
		"iris A &lt;script&gt;", `href="#run-iris-b"`)
	if strings.Contains(body, "<script") || strings.Contains(body, "/assets/") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
		t.Errorf("report refers to something outside itself")
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "data:") && !strings.HasPrefix(m[1], "#") {
			t.Errorf("report link %q leaves the file", m[1])
		}
	}
	out.Reset()
	if err := s.Report(context.Background(), &out, ReportRequest{Runs: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `run "nope"`) {
		t.Errorf("report of a missing run: %v", err)
	}
	if err := s.Report(context.Background(), io.Discard, ReportRequest{Experiment: "none"}); err == nil {
		t.Error("report of a missing experiment succeeded")
	}
}

// TestAllNamespaces: with -A the experiments page lists every namespace's experiments, and pages of other
// namespaces are served.
func TestAllNamespaces(t *testing.T) {
	exps, runs := standardRuns()
	c := newCluster(t, exps, runs)
	other := experiments.NewStore(c.kube.CoreV1().ConfigMaps("team-b"))
	if _, err := other.CreateExperiment(context.Background(), experiments.Experiment{Name: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{testNS, "team-b", "empty"} {
		if _, err := c.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewServer(Config{Kube: c.kube, Argo: c.argo, Namespace: testNS, AllNamespaces: true})
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, s.Handler(), "/")
	mustContain(t, "all namespaces", body, "<td>team-b</td>", `href="/ns/team-b/experiments/elsewhere"`, `href="/ns/team-a/experiments/iris"`, "namespace <b>all</b>")
	if code != 200 {
		t.Errorf("HTTP %d", code)
	}
	if code, body := get(t, s.Handler(), "/ns/team-b/experiments/elsewhere"); code != 200 || !strings.Contains(body, "No runs.") {
		t.Errorf("runs page in team-b: %d %.300s", code, body)
	}
}
