package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
)

// Config is what the server reads from: the user's own clients, as kubectl builds them.
type Config struct {
	Kube kubernetes.Interface
	Argo wfclientset.Interface
	// Namespace is shown unless AllNamespaces.
	Namespace     string
	AllNamespaces bool
	// APIServer names the cluster on the error page when it cannot be reached.
	APIServer string
	Now       func() time.Time
}

// Server serves the read-only pages. It never writes: records are read with the store's read methods and
// a run's live state is mapped from its Workflow in memory (experiments.MapWorkflow), not written back.
type Server struct {
	cfg   Config
	pages *pages
}

// NewServer parses the embedded templates.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, pages: p}, nil
}

// Handler routes the pages; anything else is the 404 page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assetFS())))
	mux.HandleFunc("GET /{$}", s.handle(s.experimentsPage))
	mux.HandleFunc("GET /ns/{ns}/experiments/{exp}", s.handle(s.runsPage))
	mux.HandleFunc("GET /ns/{ns}/runs/{run}", s.handle(s.runPage))
	mux.HandleFunc("GET /ns/{ns}/runs/{run}/logs", s.handle(s.logsPage))
	mux.HandleFunc("GET /ns/{ns}/compare", s.handle(s.comparePage))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.pages.error(w, http.StatusNotFound, "Not found", fmt.Sprintf("There is no page at %s.", r.URL.Path))
	})
	return securityHeaders(mux)
}

// securityHeaders: pages load nothing from elsewhere, and the CSP says so to the browser too, so that
// an escaping mistake could not load or send anything.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self' data:; connect-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// notFound is an error that becomes the 404 page.
type notFound struct{ what string }

func (e notFound) Error() string { return e.what + " not found" }

func (s *Server) handle(page func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := page(w, r)
		if err == nil {
			return
		}
		var nf notFound
		switch {
		case errors.As(err, &nf):
			s.pages.error(w, http.StatusNotFound, "Not found", nf.Error()+".")
		case errors.Is(err, experiments.ErrNotFound) || errors.Is(err, argo.ErrNotFound):
			s.pages.error(w, http.StatusNotFound, "Not found", err.Error())
		case unreachable(err):
			s.pages.error(w, http.StatusBadGateway, "Kubernetes API server unreachable",
				fmt.Sprintf("kfp-argo ui could not reach the Kubernetes API server %s: %v. Check that the cluster is up and that your kubeconfig and context point to it, then reload.", s.cfg.APIServer, err))
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			s.pages.error(w, http.StatusForbidden, "Not allowed", fmt.Sprintf("Your credentials may not read this: %v", err))
		default:
			s.pages.error(w, http.StatusInternalServerError, "Error", err.Error())
		}
	}
}

// unreachable tells connection failures (refused, DNS, timeouts) from answers of the API server.
func unreachable(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &urlErr) || errors.As(err, &netErr) {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// namespaces is the configured namespace, or with AllNamespaces every namespace the user may list.
func (s *Server) namespaces(ctx context.Context) ([]string, error) {
	if !s.cfg.AllNamespaces {
		return []string{s.cfg.Namespace}, nil
	}
	list, err := s.cfg.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	out := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return out, nil
}

// namespace checks a namespace from a URL against what the server shows.
func (s *Server) namespace(r *http.Request) (string, error) {
	ns := r.PathValue("ns")
	if !s.cfg.AllNamespaces && ns != s.cfg.Namespace {
		return "", notFound{fmt.Sprintf("namespace %q (this server shows namespace %q; start it with -A for all)", ns, s.cfg.Namespace)}
	}
	return ns, nil
}

func (s *Server) store(ns string) *experiments.Store {
	return experiments.NewStore(s.cfg.Kube.CoreV1().ConfigMaps(ns))
}

func (s *Server) workflows(ns string) *argo.Workflows {
	return argo.NewWorkflows(s.cfg.Argo, s.cfg.Kube, ns)
}

// ExperimentRow is one line of the experiments page.
type ExperimentRow struct {
	Namespace  string
	Experiment experiments.Experiment
	Counts     []StateCount
	Total      int
	LastRun    *experiments.Run
}

// StateCount is a number of runs in a state.
type StateCount struct {
	State experiments.State
	N     int
}

func (s *Server) experimentsPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	nss, err := s.namespaces(ctx)
	if err != nil {
		return err
	}
	var rows []ExperimentRow
	archived := 0
	for _, ns := range nss {
		st := s.store(ns)
		exps, err := st.ListExperiments(ctx, experiments.ExperimentFilter{})
		if err != nil {
			return err
		}
		if len(exps) == 0 {
			continue
		}
		runs, err := st.ListRuns(ctx, experiments.RunFilter{})
		if err != nil {
			return err
		}
		byExp := map[string][]experiments.Run{}
		for _, run := range runs {
			byExp[run.Experiment] = append(byExp[run.Experiment], run)
		}
		for _, e := range exps {
			if e.StorageState == experiments.StorageArchived {
				archived++
			}
			row := ExperimentRow{Namespace: ns, Experiment: e, Total: len(byExp[e.Name])}
			counts := map[experiments.State]int{}
			for i, run := range byExp[e.Name] {
				counts[run.State]++
				if i == 0 {
					row.LastRun = &byExp[e.Name][0] // ListRuns is newest first
				}
			}
			for _, st := range experiments.States() {
				if counts[st] > 0 {
					row.Counts = append(row.Counts, StateCount{st, counts[st]})
				}
			}
			rows = append(rows, row)
		}
	}
	return s.pages.render(w, "experiments", map[string]any{
		"Title": "Experiments", "Rows": rows, "Archived": archived, "Namespaces": nss, "All": s.cfg.AllNamespaces, "Namespace": s.namespaceLabel(),
	})
}

// namespaceLabel is what the page header says the server shows.
func (s *Server) namespaceLabel() string {
	if s.cfg.AllNamespaces {
		return "all"
	}
	return s.cfg.Namespace
}

// liveRuns brings records that can still change up to date with their Workflows, in memory only. One
// list of the Workflows serves all of them, and only when some record is unfinished.
func (s *Server) liveRuns(ctx context.Context, ns string, runs []experiments.Run) error {
	open := false
	for _, r := range runs {
		if !r.State.Terminal() {
			open = true
			break
		}
	}
	if !open {
		return nil
	}
	req, err := labels.NewRequirement(experiments.LabelRun, selection.Exists, nil)
	if err != nil {
		return err
	}
	wfs, err := s.workflows(ns).List(ctx, labels.NewSelector().Add(*req).String())
	if err != nil {
		return err
	}
	byName := map[string]*wfv1.Workflow{}
	for i := range wfs {
		byName[wfs[i].Name] = &wfs[i]
	}
	for i := range runs {
		if wf := byName[runs[i].Name]; wf != nil && !runs[i].State.Terminal() && experiments.SameExecution(&runs[i], wf) {
			runs[i] = experiments.MapWorkflow(wf, &runs[i], s.cfg.Now())
		}
	}
	return nil
}

// experiment finds an experiment by its real name without GetExperiment, which creates Default.
func (s *Server) experiment(ctx context.Context, ns, name string) (experiments.Experiment, error) {
	exps, err := s.store(ns).ListExperiments(ctx, experiments.ExperimentFilter{})
	if err != nil {
		return experiments.Experiment{}, err
	}
	for _, e := range exps {
		if e.Name == name {
			return e, nil
		}
	}
	return experiments.Experiment{}, notFound{fmt.Sprintf("experiment %q in namespace %q", name, ns)}
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ns, err := s.namespace(r)
	if err != nil {
		return err
	}
	exp, err := s.experiment(ctx, ns, r.PathValue("exp"))
	if err != nil {
		return err
	}
	f := experiments.RunFilter{Experiment: exp.Name, StorageState: experiments.StorageAvailable}
	showArchived := r.URL.Query().Get("archived") == "1"
	if showArchived {
		f.StorageState = ""
	}
	runs, err := s.store(ns).ListRuns(ctx, f)
	if err != nil {
		return err
	}
	if err := s.liveRuns(ctx, ns, runs); err != nil {
		return err
	}
	table := buildRunsTable(runs, s.cfg.Now())
	return s.pages.render(w, "runs", map[string]any{
		"Title": exp.Name, "Namespace": ns, "Experiment": exp, "Table": table, "ShowArchived": showArchived,
	})
}

// RunsTable is the runs page's table: parameters and metrics as columns.
type RunsTable struct {
	Params  []string
	Metrics []string
	Rows    []RunRow
	States  []experiments.State
}

// RunRow is one run in the table.
type RunRow struct {
	Run      experiments.Run
	Duration string
	Params   []Cell
	Metrics  []Cell
}

// Cell is a value that may be missing (shown distinct from empty).
type Cell struct {
	Value   string
	Present bool
}

func buildRunsTable(runs []experiments.Run, now time.Time) RunsTable {
	params := map[string]bool{}
	states := map[experiments.State]bool{}
	for _, r := range runs {
		for k := range r.Parameters {
			params[k] = true
		}
		states[r.State] = true
	}
	t := RunsTable{Metrics: experiments.MetricNames(runs)}
	for k := range params {
		t.Params = append(t.Params, k)
	}
	sort.Strings(t.Params)
	for _, st := range experiments.States() {
		if states[st] {
			t.States = append(t.States, st)
		}
	}
	t.Rows = make([]RunRow, len(runs))
	for i, r := range runs {
		row := RunRow{Run: r, Duration: runDuration(r, now), Params: make([]Cell, len(t.Params)), Metrics: make([]Cell, len(t.Metrics))}
		for j, p := range t.Params {
			v, ok := r.Parameters[p]
			row.Params[j] = Cell{v, ok}
		}
		for j, m := range t.Metrics {
			v, ok := r.Metrics[m]
			row.Metrics[j] = Cell{formatFloat(v), ok}
		}
		t.Rows[i] = row
	}
	return t
}

func runDuration(r experiments.Run, now time.Time) string {
	if r.StartedAt.IsZero() {
		return ""
	}
	end := r.FinishedAt
	if end.IsZero() {
		end = now
	}
	return end.Sub(r.StartedAt).Round(time.Second).String()
}

// runDetail reads a run's record and Workflow; the Workflow's current status is mapped onto the record in
// memory, as `run get` would write it.
func (s *Server) runDetail(ctx context.Context, ns, name string) (RunDetail, error) {
	run, err := s.store(ns).GetRun(ctx, name)
	if errors.Is(err, experiments.ErrNotFound) {
		return RunDetail{}, notFound{fmt.Sprintf("run %q in namespace %q", name, ns)}
	}
	if err != nil {
		return RunDetail{}, err
	}
	d := RunDetail{Namespace: ns, Run: run, Now: s.cfg.Now()}
	wf, err := s.workflows(ns).Get(ctx, name)
	switch {
	case errors.Is(err, argo.ErrNotFound):
	case err != nil:
		return RunDetail{}, err
	case experiments.SameExecution(&run, wf):
		d.Workflow = wf
		d.Read = s.reader(ctx, ns, wf)
		if !run.State.Terminal() {
			d.Run = experiments.MapWorkflow(wf, &run, d.Now)
		}
	}
	return d, nil
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r)
	if err != nil {
		return err
	}
	d, err := s.runDetail(r.Context(), ns, r.PathValue("run"))
	if err != nil {
		return err
	}
	v, err := newRunView(d, false)
	if err != nil {
		return err
	}
	name := "run"
	if r.URL.Query().Get("fragment") == "1" {
		name = "run-body"
	}
	return s.pages.render(w, name, map[string]any{"Title": d.Run.DisplayName, "Namespace": ns, "V": v})
}

func (s *Server) logsPage(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r)
	if err != nil {
		return err
	}
	d, err := s.runDetail(r.Context(), ns, r.PathValue("run"))
	if err != nil {
		return err
	}
	pod := r.URL.Query().Get("pod")
	var task *experiments.Task
	for i := range d.Run.Tasks {
		if d.Run.Tasks[i].Pod == pod && pod != "" {
			task = &d.Run.Tasks[i]
		}
	}
	if task == nil {
		return notFound{fmt.Sprintf("pod %q of run %q", pod, d.Run.Name)}
	}
	var buf strings.Builder
	logErr := s.workflows(ns).PodLogs(r.Context(), pod, argo.LogOptions{TailLines: 5000}, &buf)
	msg := ""
	if logErr != nil {
		// The pod is gone or has no log: Argo's archived log (archiveLogs), where the repository has it.
		if a, ok := archivedLog(d, pod); ok && d.Read != nil {
			data, err := d.Read(a)
			if err == nil {
				buf.Reset()
				buf.Write(data)
				msg = fmt.Sprintf("The pod's log could not be read (%v); this is the log Argo archived at %s.", logErr, a.URI)
			} else {
				msg = fmt.Sprintf("The pod's log could not be read (%v), nor the archived log at %s: %v.", logErr, a.URI, err)
			}
		} else {
			msg = fmt.Sprintf("The pod's log could not be read: %v. Argo archived no log for it (archiveLogs is off for this Workflow, or it has no artifact repository).", logErr)
		}
	}
	return s.pages.render(w, "logs", map[string]any{"Title": "logs of " + taskLabel(*task), "Namespace": ns, "Run": d.Run, "Task": task, "Log": buf.String(), "Error": msg})
}

// archivedLog finds the main-logs artifact Argo archived for a task's pod.
func archivedLog(d RunDetail, pod string) (Artifact, bool) {
	if d.Workflow == nil {
		return Artifact{}, false
	}
	rows := taskRowByNode(d.Run, d.Workflow)
	for id, n := range d.Workflow.Status.Nodes {
		t, ok := rows[id]
		if !ok || t.Pod != pod || n.Outputs == nil {
			continue
		}
		for _, a := range n.Outputs.Artifacts {
			if a.Name == "main-logs" {
				return Artifact{Task: taskLabel(t), Name: a.Name, URI: d.artifactURI(a), Loc: a}, true
			}
		}
	}
	return Artifact{}, false
}

// maxCompare is the bound: more columns are unreadable.
const maxCompare = 10

func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r)
	if err != nil {
		return err
	}
	names := slices.Compact(r.URL.Query()["run"])
	if len(names) < 2 || len(names) > maxCompare {
		s.pages.error(w, http.StatusBadRequest, "Choose 2 to 10 runs", fmt.Sprintf("Compare takes 2 to %d runs; %d were given.", maxCompare, len(names)))
		return nil
	}
	var details []RunDetail
	for _, n := range names {
		d, err := s.runDetail(r.Context(), ns, n)
		if err != nil {
			return err
		}
		details = append(details, d)
	}
	v, err := newCompareView(details)
	if err != nil {
		return err
	}
	return s.pages.render(w, "compare", map[string]any{"Title": "Compare", "Namespace": ns, "C": v})
}

// reader reads the artifacts of one Workflow for one page. A repository that cannot be reached fails once
// per page, not once per artifact: its error is remembered for the others.
func (s *Server) reader(ctx context.Context, ns string, wf *wfv1.Workflow) func(Artifact) ([]byte, error) {
	r := artifactReader{kube: s.cfg.Kube, ns: ns}
	var mu sync.Mutex
	failed := map[string]error{}
	return func(a Artifact) ([]byte, error) {
		b, _, err := s3Location(wf, a.Loc)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		prev := failed[b.Endpoint]
		mu.Unlock()
		if prev != nil {
			return nil, prev
		}
		rctx, cancel := context.WithTimeout(ctx, artifactTimeout)
		defer cancel()
		data, err := r.read(rctx, wf, a.Loc)
		if err != nil && unreachable(err) {
			mu.Lock()
			failed[b.Endpoint] = err
			mu.Unlock()
		}
		return data, err
	}
}

// artifactTimeout bounds one artifact read, so an unreachable repository delays a page, never hangs it.
const artifactTimeout = 10 * time.Second

// ErrBadRequest marks arguments a report cannot be made of.
var ErrBadRequest = errors.New("bad request")
