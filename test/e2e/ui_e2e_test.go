//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-argo/kfp-argo/experiments"
	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/test/e2e/standin"
)

// The UI in a real headless browser (Debian's chromium through chromedp) against the e2e control plane:
// every page loads with no console error and no request outside the UI; the compare page shows the ROC
// curves and confusion matrices of two classification runs; `run report` opens with no network at all.

const xssPayload = `<script>window.__xss=1</script>`

// chromiumPath finds the browser the UI tests drive; CI installs it (apt-get install -y chromium).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("KFP_ARGO_E2E_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the UI tests need Chromium: apt-get install -y chromium (or set KFP_ARGO_E2E_CHROMIUM)")
	return ""
}

// screenshotDir is where the test writes a screenshot of every page: $KFP_ARGO_UI_SCREENSHOTS, else a
// folder under the test's temporary directory (logged).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("KFP_ARGO_UI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "kfp-argo-ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// startUI runs `kfp-argo ui` on a free loopback port and returns its base URL and process.
func startUI(t testing.TB, extra ...string) (string, *exec.Cmd) {
	t.Helper()
	bin, err := env.cli.Binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"ui", "--address", "127.0.0.1:0", "--kubeconfig", env.cluster.Kubeconfig(), "-n", env.ns}, extra...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("kfp-argo ui printed no address: %v", err)
	}
	m := regexp.MustCompile(`http://[0-9.:]+`).FindString(line)
	if m == "" {
		t.Fatalf("kfp-argo ui: %q", line)
	}
	return m, cmd
}

// browser watches one tab: console errors, exceptions, browser-log errors and every request URL.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	requests []string
}

func newBrowser(t *testing.T, offline bool) *browser {
	t.Helper()
	exe := chromiumPath(t)
	if offline {
		// No network at all: the browser runs in a network namespace of its own, where not even loopback
		// is up. chromedp talks to it through a pipe, so nothing else is needed.
		wrapper := filepath.Join(t.TempDir(), "chromium-offline")
		if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec unshare --net "+exe+" \"$@\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		exe = wrapper
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1360, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.errors = append(b.errors, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
			}
		case *cdpruntime.EventExceptionThrown:
			b.errors = append(b.errors, "exception: "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				b.errors = append(b.errors, "log ("+string(ev.Entry.Source)+"): "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// reset forgets what earlier pages did.
func (b *browser) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors, b.requests = nil, nil
}

// open navigates and waits until the document and its images are loaded.
func (b *browser) open(t *testing.T, url string) int64 {
	t.Helper()
	b.reset()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	b.settle(t)
	if resp == nil {
		return 0
	}
	return resp.Status
}

// settle waits for every image of the page to be decoded, so that a broken chart is reported.
func (b *browser) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete" && Array.from(document.images).every(i => i.complete)`)); err != nil {
		t.Fatalf("page did not finish loading: %v", err)
	}
}

// check: no console error and no request that leaves allowed (the UI's own origin, or data: URIs).
func (b *browser) check(t *testing.T, page string, allowed func(string) bool, allowErrors ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
next:
	for _, e := range b.errors {
		for _, a := range allowErrors {
			if strings.Contains(e, a) {
				continue next
			}
		}
		t.Errorf("%s: %s", page, e)
	}
	for _, u := range b.requests {
		if !strings.HasPrefix(u, "data:") && !allowed(u) {
			t.Errorf("%s: request outside the UI: %s", page, u)
		}
	}
}

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// frameTexts returns the text of every iframe target of the browser. A sandboxed frame has an opaque
// origin and runs in its own process, so neither the page's script nor its DOM reaches into it; DevTools
// attaches to the frame's own target.
func frameTexts(t *testing.T, b *browser) []string {
	t.Helper()
	targets, err := chromedp.Targets(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ti := range targets {
		if ti.Type != "iframe" {
			continue
		}
		fctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(ti.TargetID), chromedp.WithDetachOnCancel())
		text, err := chromedp.Run(fctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		cancel()
		if err != nil {
			t.Errorf("frame %s: %v", ti.URL, err)
			continue
		}
		out = append(out, strings.TrimSpace(text))
	}
	return out
}

func (b *browser) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	// A viewport as tall as the page, so that frames below the first screen are painted too.
	h := eval[int64](t, b, `document.documentElement.scrollHeight`)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1360, h)); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = chromedp.Do(b.ctx, chromedp.EmulateViewport(1360, 900)) }()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// classification gives the metrics_visualization_v2 tasks the metadata its components log: a ROC curve
// (wine), a confusion matrix (iris), an accuracy (digits) and the Markdown and HTML artifacts.
func classification(shift float64, fail bool, runtime time.Duration) standin.Func {
	return func(task standin.Task) standin.Result {
		out := map[string]string{}
		switch task.TaskName {
		case "wine-classification":
			if fail {
				return standin.Result{ExitCode: 1}
			}
			out["kfp-argo-meta-metrics"] = fmt.Sprintf(`{"schemaTitle":"system.ClassificationMetrics","producer":%q,"metadata":{"confidenceMetrics":[`+
				`{"confidenceThreshold":2,"falsePositiveRate":0,"recall":0},{"confidenceThreshold":0.8,"falsePositiveRate":%g,"recall":0.6},`+
				`{"confidenceThreshold":0.5,"falsePositiveRate":%g,"recall":0.9},{"confidenceThreshold":0,"falsePositiveRate":1,"recall":1}]}}`,
				task.Pod, 0.1+shift, 0.3+shift)
		case "iris-sgdclassifier":
			out["kfp-argo-meta-metrics"] = fmt.Sprintf(`{"schemaTitle":"system.ClassificationMetrics","producer":%q,"metadata":{"confusionMatrix":{`+
				`"annotationSpecs":[{"displayName":"Setosa"},{"displayName":"Versicolour"},{"displayName":"Virginica"}],`+
				`"rows":[{"row":[10,0,0]},{"row":[0,%d,%d]},{"row":[0,1,10]}]}}}`, task.Pod, 9-int(shift*10), 1+int(shift*10))
		case "digit-classification":
			out["kfp-argo-meta-metrics"] = fmt.Sprintf(`{"schemaTitle":"system.Metrics","producer":%q,"metadata":{"accuracy":%g}}`, task.Pod, 0.9-shift)
		case "markdown-visualization":
			out["kfp-argo-meta-markdown_artifact"] = fmt.Sprintf(`{"schemaTitle":"system.Markdown","producer":%q,"metadata":{}}`, task.Pod)
		case "html-visualization":
			out["kfp-argo-meta-html_artifact"] = fmt.Sprintf(`{"schemaTitle":"system.HTML","producer":%q,"metadata":{}}`, task.Pod)
		}
		return standin.Result{Outputs: out, Runtime: runtime}
	}
}

// waitRun polls the run through the records API until ok says so.
func waitRun(t *testing.T, name string, ok func(experiments.Run) bool) experiments.Run {
	t.Helper()
	runs := e2eRuns(t)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := runs.Get(context.Background(), name)
		if err == nil && ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: %v; last %s %s", name, err, r.State, r.Progress())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestUI(t *testing.T) {
	chromiumPath(t)
	vis := corpus.File(t, "metrics_visualization_v2.yaml")
	lw := corpus.File(t, "essential/lightweight_python_functions_with_outputs.yaml")
	expA := harness.NewName("ui-classifiers")
	expB := harness.NewName("ui sweep " + xssPayload)
	names := map[string]string{}
	for _, k := range []string{"good", "better", "failed", "running", "canceled", "xss"} {
		names[k] = harness.NewName("ui-" + k)
	}
	behave := map[string]standin.Func{
		"good":     classification(0.1, false, 0),
		"better":   classification(0, false, 0),
		"failed":   classification(0, true, 0),
		"running":  classification(0, false, 10*time.Minute),
		"canceled": classification(0, false, 10*time.Minute),
	}
	for k, f := range behave {
		behaviours.Store(names[k], f)
	}
	t.Cleanup(func() {
		for _, n := range names {
			behaviours.Delete(n)
		}
	})
	submit := func(k string, args ...string) error {
		_, stderr, err := env.cli.Run(t, append([]string{"submit"}, args...)...)
		if err != nil {
			return fmt.Errorf("submit %s: %v %s", k, err, stderr)
		}
		return nil
	}
	var g group
	repoRef := artifactRepository(t)
	g.Go(func() error {
		return submit("good", vis, "-e", expA, "-r", names["good"], "--no-cache", "--artifact-repository-ref", repoRef)
	})
	g.Go(func() error {
		return submit("better", vis, "-e", expA, "-r", names["better"], "--no-cache", "--artifact-repository-ref", repoRef)
	})
	g.Go(func() error { return submit("failed", vis, "-e", expA, "-r", names["failed"], "--no-cache") })
	g.Go(func() error { return submit("running", vis, "-e", expA, "-r", names["running"], "--no-cache") })
	g.Go(func() error { return submit("canceled", vis, "-e", expB, "-r", names["canceled"], "--no-cache") })
	g.Go(func() error {
		return submit("xss", lw, "-e", expB, "-r", names["xss"], "--no-cache", "--display-name", "run "+xssPayload,
			"-p", "first_message="+xssPayload, "-p", "second_message=", "-p", "first_number=1", "-p", "second_number=2")
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _, _ = env.cli.Run(t, "run", "terminate", names["running"]) })
	running := func(r experiments.Run) bool { return r.TaskCounts()[experiments.StateRunning] > 0 }
	waitRun(t, names["canceled"], running)
	if _, stderr, err := env.cli.Run(t, "run", "terminate", names["canceled"]); err != nil {
		t.Fatalf("terminate: %v %s", err, stderr)
	}
	waitRun(t, names["canceled"], func(r experiments.Run) bool { return r.State == experiments.StateCanceled })
	waitRun(t, names["failed"], func(r experiments.Run) bool { return r.State == experiments.StateFailed })
	// Waited for here rather than with submit --wait, which once reported "ended PENDING" for a run whose
	// Workflow had succeeded (a submit issue, not the UI's).
	for _, k := range []string{"good", "better", "xss"} {
		waitRun(t, names[k], func(r experiments.Run) bool { return r.State == experiments.StateSucceeded })
	}
	waitRun(t, names["running"], running)

	// The UI must write nothing: record versions before and after browsing.
	versions := recordVersions(t)

	base, _ := startUI(t)
	ours := func(u string) bool { return strings.HasPrefix(u, base+"/") }
	shots := screenshotDir(t)
	b := newBrowser(t, false)
	esc := url.PathEscape

	// Experiments.
	if code := b.open(t, base+"/"); code != 200 {
		t.Fatalf("experiments page: HTTP %d", code)
	}
	text := eval[string](t, b, `document.body.innerText`)
	for _, want := range []string{expA, expB} {
		if !strings.Contains(text, want) {
			t.Errorf("experiments page lacks %q", want)
		}
	}
	b.check(t, "experiments", ours)
	b.screenshot(t, shots, "experiments")

	// Runs of experiment A: four runs; choosing two and pressing Compare opens the compare page.
	b.open(t, base+"/ns/"+env.ns+"/experiments/"+esc(expA))
	if n := eval[int](t, b, `document.querySelectorAll("table.runs tbody tr").length`); n != 4 {
		t.Errorf("runs page of %s: %d rows, want 4", expA, n)
	}
	states := eval[string](t, b, `Array.from(document.querySelectorAll("table.runs tbody tr")).map(r => r.dataset.state).sort().join(" ")`)
	if states != "FAILED RUNNING SUCCEEDED SUCCEEDED" {
		t.Errorf("runs page states %q", states)
	}
	b.check(t, "runs", ours)
	b.screenshot(t, shots, "runs")
	if err := chromedp.Do(b.ctx,
		chromedp.Click(chromedp.CSS(`input[value="`+names["good"]+`"]`)),
		chromedp.Click(chromedp.CSS(`input[value="`+names["better"]+`"]`)),
	); err != nil {
		t.Fatal(err)
	}
	b.reset()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#compare-button`)), chromedp.WaitVisible(chromedp.CSS(`section.compare`))); err != nil {
		t.Fatalf("compare from the runs page: %v", err)
	}
	b.settle(t)

	// Compare: ROC overlay and two confusion matrices, drawn.
	rocs := eval[int](t, b, `Array.from(document.querySelectorAll("img.chart.roc")).filter(i => i.complete && i.naturalWidth > 0).length`)
	if rocs != 1 {
		t.Errorf("compare page: %d drawn ROC charts, want 1 (both runs overlaid)", rocs)
	}
	if n := eval[int](t, b, `document.querySelectorAll("table.confusion").length`); n != 2 {
		t.Errorf("compare page: %d confusion matrices, want 2", n)
	}
	if n := eval[int](t, b, `document.querySelectorAll("div.visual.markdown h1").length`); n != 2 {
		t.Errorf("compare page: %d rendered Markdown visualisations, want 2 side by side", n)
	}
	if n := eval[int](t, b, `Array.from(document.querySelectorAll("img.chart.metric")).filter(i => i.naturalWidth > 0).length`); n < 1 {
		t.Errorf("compare page: no metric chart drawn")
	}
	if best := eval[string](t, b, `(document.querySelector("td.best") || {}).textContent || ""`); !strings.Contains(best, "0.9") {
		t.Errorf("best accuracy cell %q, want 0.9 marked", best)
	}
	b.check(t, "compare", ours)
	b.screenshot(t, shots, "compare")

	// Run pages.
	for _, k := range []string{"good", "failed", "canceled", "xss", "running"} {
		b.open(t, base+"/ns/"+env.ns+"/runs/"+names[k])
		if n := eval[int](t, b, `document.querySelectorAll("svg.graph g.node").length`); n == 0 {
			t.Errorf("run %s: no graph nodes", k)
		}
		if eval[bool](t, b, `window.__xss !== undefined`) {
			t.Errorf("run %s: a <script> from a record ran", k)
		}
		if k == "good" {
			// Its artifacts are read from the S3 server of artifactRepository: the Markdown renders (a
			// heading and a table), the HTML is in a sandboxed frame, and the <script> of both never runs.
			if h := eval[string](t, b, `(document.querySelector("div.visual.markdown h1") || {}).textContent || ""`); h != "Wine results" {
				t.Errorf("run good: rendered Markdown heading %q, want %q", h, "Wine results")
			}
			if n := eval[int](t, b, `document.querySelectorAll("div.visual.markdown table td").length`); n != 2 {
				t.Errorf("run good: Markdown table has %d data cells, want 2", n)
			}
			if n := eval[int](t, b, `document.querySelectorAll("iframe.visual[sandbox='']").length`); n != 1 {
				t.Errorf("run good: %d sandboxed HTML frames, want 1", n)
			}
			// The page's script cannot look into the sandboxed frame; the DevTools DOM can.
			if texts := frameTexts(t, b); !slices.ContainsFunc(texts, func(s string) bool { return strings.HasPrefix(s, "HTML visualisation") }) {
				t.Errorf("run good: the HTML visualisation's frame shows %q", texts)
			}
		}
		if k == "failed" {
			// The cluster's own repository is at a reserved .invalid name: the page says why the
			// Markdown is not shown instead of a blank.
			text := eval[string](t, b, `document.body.innerText`)
			if !strings.Contains(text, "system.Markdown") || !strings.Contains(text, "Contents not shown: ") {
				t.Errorf("run failed: no reason why the Markdown artifact is not shown:\n%s", text)
			}
		}
		b.check(t, "run "+k, ours)
		b.screenshot(t, shots, "run-"+k)
	}
	// The running run refreshes itself: wait for a poll to replace the body, which must cause no error.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("run-body").firstElementChild.dataset.mark = "old"`)); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	if _, err := chromedp.Run(pctx, chromedp.Poll[bool](`document.getElementById("run-body").firstElementChild.dataset.mark !== "old"`)); err != nil {
		t.Errorf("running run page was not refreshed: %v", err)
	}
	cancel()
	b.check(t, "run running (refreshed)", ours)

	b.open(t, base+"/ns/"+env.ns+"/runs/"+names["xss"])
	title := eval[string](t, b, `document.querySelector("section.run h1").textContent`)
	if !strings.Contains(title, xssPayload) {
		t.Errorf("run title %q does not show the display name as text", title)
	}

	// The logs page of a task: kwok pods have no logs, which the page says.
	b.open(t, base+eval[string](t, b, `(document.querySelector("table.tasks a[href*='/logs?pod=']") || {}).pathname + (document.querySelector("table.tasks a[href*='/logs?pod=']") || {}).search`))
	if text := eval[string](t, b, `document.body.innerText`); !strings.Contains(text, "The pod's log could not be read") {
		t.Errorf("logs page of a kwok pod (no kubelet, no log): %q", text)
	}
	b.check(t, "logs", ours)
	b.screenshot(t, shots, "logs")

	// 404 for an unknown run; the browser logs the 404 itself, nothing else.
	if code := b.open(t, base+"/ns/"+env.ns+"/runs/no-such-run"); code != http.StatusNotFound {
		t.Errorf("unknown run: HTTP %d", code)
	}
	if text := eval[string](t, b, `document.body.innerText`); !strings.Contains(text, `run "no-such-run" in namespace "`+env.ns+`" not found`) {
		t.Errorf("404 page: %q", text)
	}
	b.check(t, "404", ours, "status of 404")
	b.screenshot(t, shots, "not-found")

	if after := recordVersions(t); fmt.Sprint(after) != fmt.Sprint(versions) {
		t.Errorf("the UI changed records:\nbefore %v\nafter  %v", versions, after)
	}

	// The report, opened by a browser without any network.
	report := filepath.Join(t.TempDir(), "report.html")
	if _, stderr, err := env.cli.Run(t, "run", "report", names["good"], names["better"], "-o", report); err != nil {
		t.Fatalf("run report: %v %s", err, stderr)
	}
	off := newBrowser(t, true)
	off.open(t, "file://"+report)
	if n := eval[int](t, off, `Array.from(document.querySelectorAll("img.chart.roc")).filter(i => i.naturalWidth > 0).length`); n < 1 {
		t.Errorf("report: no ROC chart drawn")
	}
	if n := eval[int](t, off, `document.querySelectorAll("table.confusion").length`); n != 4 {
		t.Errorf("report: %d confusion matrices, want 4 (compare view and each run)", n)
	}
	if n := eval[int](t, off, `document.querySelectorAll("section.run").length`); n != 2 {
		t.Errorf("report: %d run sections, want 2", n)
	}
	off.check(t, "report", func(u string) bool { return u == "file://"+report })
	off.screenshot(t, shots, "report")
}

// artifactRepository starts an HTTP server that answers S3 GetObject for the visualisation artifacts of
// metrics_visualization_v2 (the stand-in uploads nothing, so the server holds their contents), only for
// requests signed with the key in its Secret, and registers it as an Argo artifact repository of the
// namespace. It returns the --artifact-repository-ref that selects it.
func artifactRepository(t *testing.T) string {
	t.Helper()
	markdown := "# Wine results\n\n| class | recall |\n|---|---|\n| 1 | 0.9 |\n\n" + xssPayload + "\n"
	page := `<html><body><h2>HTML visualisation</h2>` + xssPayload + `</body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=UIE2EKEY/") {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		var body string
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/ui-artifacts/") && strings.Contains(r.URL.Path, "markdown-visualization"):
			body = markdown
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/ui-artifacts/") && strings.Contains(r.URL.Path, "html-visualization"):
			body = page
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`)
			return
		}
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Mar 2026 09:00:00 GMT")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ui-s3"}, StringData: map[string]string{"accessKey": "UIE2EKEY", "secretKey": "ui-e2e-secret"}}
	if _, err := env.kube.CoreV1().Secrets(env.ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ui-artifact-repositories"}, Data: map[string]string{"s3-local": fmt.Sprintf(`s3:
  bucket: ui-artifacts
  endpoint: %s
  insecure: true
  accessKeySecret: {name: ui-s3, key: accessKey}
  secretKeySecret: {name: ui-s3, key: secretKey}
`, strings.TrimPrefix(srv.URL, "http://"))}}
	_ = env.kube.CoreV1().ConfigMaps(env.ns).Delete(ctx, cm.Name, metav1.DeleteOptions{})
	if _, err := env.kube.CoreV1().ConfigMaps(env.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return cm.Name + "/s3-local"
}

// recordVersions maps each kfp-argo ConfigMap to its resourceVersion.
func recordVersions(t *testing.T) map[string]string {
	t.Helper()
	list, err := env.kube.CoreV1().ConfigMaps(env.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kfp-argo"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cm := range list.Items {
		out[cm.Name] = cm.ResourceVersion
	}
	return out
}

// BenchmarkUIRunsPage1000: the runs page of an experiment with 1,000 runs, served by the kfp-argo binary
// from the real API server; reports the UI process's peak RSS.
func BenchmarkUIRunsPage1000(b *testing.B) {
	exp := harness.NewName("ui-bench")
	cfg := env.cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	store := experiments.NewStore(c.CoreV1().ConfigMaps(env.ns))
	ctx := context.Background()
	if _, err := store.CreateExperiment(ctx, experiments.Experiment{Name: exp}); err != nil {
		b.Fatal(err)
	}
	var g group
	g.limit = make(chan struct{}, 16)
	for i := range 1000 {
		g.Go(func() error {
			name := fmt.Sprintf("%s-%04d", exp, i)
			_, err := store.CreateRun(ctx, experiments.Run{Name: name, Experiment: exp, PipelineName: "bench", State: experiments.StateSucceeded,
				StartedAt: time.Now().Add(-time.Minute), FinishedAt: time.Now(),
				Parameters: map[string]string{"lr": strconv.FormatFloat(0.001*float64(i), 'g', -1, 64), "epochs": "10", "batch": "64", "model": "resnet", "seed": strconv.Itoa(i)},
				Metrics:    map[string]float64{"train.loss": 1 / float64(i+1), "train.accuracy": 0.9, "eval.f1": 0.8},
				Tasks:      []experiments.Task{{ID: name + "-1", Name: "train", State: experiments.StateSucceeded, Type: "Pod"}}})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	// The part of the page time that is the API server's: listing the experiment's records.
	began := time.Now()
	for range 5 {
		if runs, err := store.ListRuns(ctx, experiments.RunFilter{Experiment: exp}); err != nil || len(runs) != 1000 {
			b.Fatalf("list: %d runs, %v", len(runs), err)
		}
	}
	listMS := float64(time.Since(began).Milliseconds()) / 5
	base, cmd := startUI(b)
	url := base + "/ns/" + env.ns + "/experiments/" + exp
	get := func() {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(raw)
		if err != nil || resp.StatusCode != 200 || strings.Count(body, `<tr data-state="SUCCEEDED">`) != 1000 {
			b.Fatalf("runs page: %v HTTP %d, %d rows", err, resp.StatusCode, strings.Count(body, `<tr data-state=`))
		}
	}
	get()
	b.ResetTimer()
	for b.Loop() {
		get()
	}
	b.StopTimer()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status); m != nil {
		kb, _ := strconv.Atoi(string(m[1]))
		b.ReportMetric(float64(kb)/1024, "ui-peak-RSS-MB")
	}
	b.ReportMetric(listMS, "list-records-ms")
}

// group runs functions concurrently and joins their errors; limit, when set, bounds how many run at once.
type group struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	limit chan struct{}
}

func (g *group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if g.limit != nil {
			g.limit <- struct{}{}
			defer func() { <-g.limit }()
		}
		if err := f(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	return errors.Join(g.errs...)
}
