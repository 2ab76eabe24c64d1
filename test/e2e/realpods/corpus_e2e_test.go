//go:build e2e

package realpods

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/test/e2e/corpus"
	"github.com/kfp-argo/kfp-argo/test/e2e/harness"
	"github.com/kfp-argo/kfp-argo/translate"
)

// fullEnv=1 (make e2e-full) runs every corpus pipeline whose images exist
// locally; otherwise only ciCorpus runs, so that `make e2e` fits CI's time.
const fullEnv = "KFP_ARGO_E2E_FULL"

// ciCorpus is the named subset `make e2e` runs on real pods (all seen to
// pass in a full run): Python and container components passing parameters
// and artifacts, conditions, OneOf, loops with Collected, caching off, a
// workspace volume, and a pipeline that fails by design.
var ciCorpus = []string{
	"critical/add_numbers.yaml",
	"critical/mixed_parameters.yaml",
	"critical/two_step_pipeline_containerized.yaml",
	"critical/flip_coin.yaml",
	"critical/parameter_oneof.yaml",
	"critical/collected_parameters.yaml",
	"critical/artifact_cache.yaml",
	"critical/pipeline_with_workspace.yaml",
	"essential/lightweight_python_functions_with_outputs.yaml",
	"essential/pipeline_with_after.yaml",
	"essential/pipeline_with_nested_conditions.yaml",
	"essential/dict_input.yaml",
	"parallel_and_nested/pipeline_with_loops.yaml",
	"failing/fail_v2.yaml",
}

// expectedReal lists corpus pipelines that end other than Succeeded when
// they really run, and why.
var expectedReal = map[string]struct {
	phase wfv1.WorkflowPhase
	why   string
}{
	"failing/fail_v2.yaml":                              {wfv1.WorkflowFailed, "its component exits 1 on purpose"},
	"failing/pipeline_with_exit_handler.yaml":           {wfv1.WorkflowFailed, "the body fails on purpose; the exit task runs"},
	"failing/pipeline_with_multiple_exit_handlers.yaml": {wfv1.WorkflowFailed, "a body fails on purpose; the exit tasks run"},
	"pipeline_with_task_final_status.yaml":              {wfv1.WorkflowFailed, "fail-op exits 1 on purpose; exit-op reports the status"},
}

// normalizeImage spells an image reference the way containerd stores it:
// docker.io/library/ for official images, :latest when untagged.
func normalizeImage(ref string) string {
	name, digest, _ := strings.Cut(ref, "@")
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash {
		name = "docker.io/library/" + name
	} else if !strings.ContainsAny(first, ".:") && first != "localhost" {
		name = "docker.io/" + name
	}
	if i := strings.LastIndex(name, ":"); i < strings.LastIndex(name, "/") || i < 0 {
		if digest == "" {
			name += ":latest"
		}
	}
	if digest != "" {
		return name + "@" + digest
	}
	return name
}

// localImages is the set of image names imported into the node, and
// unserved maps the corpus images that the images build could not serve to
// its reason.
func localImages(t *testing.T) (have map[string]bool, unserved map[string]string) {
	t.Helper()
	dir := os.Getenv(cluster.ImagesEnv)
	have, unserved = map[string]bool{}, map[string]string{}
	images, err := cluster.ReadImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range images {
		have[normalizeImage(im.Name)] = true
	}
	if f, err := os.Open(filepath.Join(dir, "unserved.tsv")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, why, ok := strings.Cut(sc.Text(), "\t"); ok {
				unserved[normalizeImage(strings.TrimSpace(name))] = strings.TrimSpace(why)
			}
		}
		f.Close()
	}
	return have, unserved
}

// workflowImages lists every container image the workflow's templates use.
func workflowImages(wf *wfv1.Workflow) []string {
	seen := map[string]bool{}
	var out []string
	add := func(im string) {
		if im != "" && !seen[im] {
			seen[im] = true
			out = append(out, im)
		}
	}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container != nil {
			add(tmpl.Container.Image)
		}
		if tmpl.Script != nil {
			add(tmpl.Script.Image)
		}
		if tmpl.ContainerSet != nil {
			for _, c := range tmpl.ContainerSet.Containers {
				add(c.Image)
			}
		}
		for _, c := range tmpl.InitContainers {
			add(c.Image)
		}
		for _, c := range tmpl.Sidecars {
			add(c.Image)
		}
	}
	sort.Strings(out)
	return out
}

// sampleParameters is corpus.SampleParameters, and a status document for
// a status input without a default, optional or not: a component with a
// status input compiled on its own gets none, and KFP's executor needs one
// (None crashes it), as an exit task would get.
func sampleParameters(p *translate.Pipeline) map[string]any {
	out := corpus.SampleParameters(p)
	if p.Spec.Root == nil || p.Spec.Root.InputDefinitions == nil {
		return out
	}
	for name, ps := range p.Spec.Root.InputDefinitions.Parameters {
		if ps.ParameterType == "TASK_FINAL_STATUS" && ps.DefaultValue == nil {
			out[name] = map[string]any{"state": "SUCCEEDED", "pipelineJobResourceName": "e2e", "pipelineTaskName": name, "error": map[string]any{}}
		}
	}
	return out
}

type corpusRun struct {
	file   string
	wf     *wfv1.Workflow
	done   *wfv1.Workflow
	secs   float64
	reason string // why it did not run, or how it failed
	// offline says why a run that really ran cannot succeed here: a
	// component installs packages from PyPI, reads gs://, or runs a
	// program that exists in no image.
	offline string
	ok      bool
}

// failedLogs returns the tails of the archived main logs (from S3) of the
// workflow's failed pods, for failure messages.
func failedLogs(wf *wfv1.Workflow) string {
	var b strings.Builder
	for _, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod || (n.Phase != wfv1.NodeFailed && n.Phase != wfv1.NodeError) || n.Outputs == nil {
			continue
		}
		for _, a := range n.Outputs.Artifacts {
			if a.Name != "main-logs" || a.S3 == nil {
				continue
			}
			log, err := env.s3.Get(context.Background(), a.S3.Key)
			if err != nil {
				fmt.Fprintf(&b, "\n  --- %s main log: %v", n.DisplayName, err)
				continue
			}
			if len(log) > 1500 {
				log = log[len(log)-1500:]
			}
			fmt.Fprintf(&b, "\n  --- %s main log (tail):\n%s", n.DisplayName, log)
		}
	}
	return b.String()
}

// pipRefusals lists the distributions the Python image's pip stand-in
// refused to install ("not installed in this image and cannot be
// downloaded: 'minio'").
func pipRefusals(logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if _, pkg, ok := strings.Cut(line, "cannot be downloaded: "); ok {
			out = append(out, strings.TrimSpace(pkg))
		}
	}
	return out
}

// ensureReferenced creates the Secrets and ConfigMaps that the workflow's
// pods name literally (volumes, env, envFrom) and do not exist yet, with a
// sample value for every key they name: a corpus pipeline that mounts
// `test-secret-1` would otherwise wait for it until its deadline.
func ensureReferenced(ctx context.Context, wf *wfv1.Workflow) error {
	secrets, configMaps := map[string]map[string]bool{}, map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, name, key string) {
		if name == "" || strings.Contains(name, "{{") {
			return
		}
		if m[name] == nil {
			m[name] = map[string]bool{}
		}
		if key != "" {
			m[name][key] = true
		}
	}
	volumes := append([]corev1.Volume{}, wf.Spec.Volumes...)
	var ctrs []corev1.Container
	for _, tmpl := range wf.Spec.Templates {
		volumes = append(volumes, tmpl.Volumes...)
		if tmpl.Container != nil {
			ctrs = append(ctrs, *tmpl.Container)
		}
		if tmpl.Script != nil {
			ctrs = append(ctrs, tmpl.Script.Container)
		}
		ctrs = append(ctrs, userContainers(tmpl.InitContainers)...)
		ctrs = append(ctrs, userContainers(tmpl.Sidecars)...)
	}
	for _, v := range volumes {
		if v.Secret != nil {
			add(secrets, v.Secret.SecretName, "")
			for _, it := range v.Secret.Items {
				add(secrets, v.Secret.SecretName, it.Key)
			}
		}
		if v.ConfigMap != nil {
			add(configMaps, v.ConfigMap.Name, "")
			for _, it := range v.ConfigMap.Items {
				add(configMaps, v.ConfigMap.Name, it.Key)
			}
		}
	}
	for _, c := range ctrs {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				add(secrets, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				add(configMaps, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				add(secrets, e.SecretRef.Name, "")
			}
			if e.ConfigMapRef != nil {
				add(configMaps, e.ConfigMapRef.Name, "")
			}
		}
	}
	data := func(keys map[string]bool) map[string]string {
		out := map[string]string{"e2e": "e2e-value"}
		for k := range keys {
			out[k] = "e2e-" + k
		}
		return out
	}
	for name, keys := range secrets {
		_, err := env.kube.CoreV1().Secrets(env.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data(keys)}, metav1.CreateOptions{})
		if err != nil && !apierr.IsAlreadyExists(err) {
			return fmt.Errorf("secret %s: %w", name, err)
		}
	}
	for name, keys := range configMaps {
		_, err := env.kube.CoreV1().ConfigMaps(env.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data(keys)}, metav1.CreateOptions{})
		if err != nil && !apierr.IsAlreadyExists(err) {
			return fmt.Errorf("configmap %s: %w", name, err)
		}
	}
	return nil
}

func userContainers(ucs []wfv1.UserContainer) []corev1.Container {
	var out []corev1.Container
	for _, u := range ucs {
		out = append(out, u.Container)
	}
	return out
}

// TestCorpusReal runs corpus pipelines on real pods and prints how many of
// all the corpus's YAML files ran for real, listing every other one with
// the reason.
func TestCorpusReal(t *testing.T) {
	dir := corpus.Dir(t)
	files := corpus.Files(t, dir, ".yaml")
	have, unserved := localImages(t)
	full := os.Getenv(fullEnv) == "1"
	subset := map[string]bool{}
	for _, f := range ciCorpus {
		subset[f] = true
	}

	var runs []*corpusRun
	var toRun []*corpusRun
	for _, f := range files {
		r := &corpusRun{file: f}
		runs = append(runs, r)
		p, err := translate.LoadFile(filepath.Join(dir, f))
		if err != nil {
			r.reason = "not loaded: " + firstLine(err.Error())
			continue
		}
		// Named after the pipeline, as the CLI names runs: components may
		// check the job name placeholder (pipeline_with_placeholders).
		wf, err := translate.Compile(p, translate.Options{Name: harness.NewName(pipelineName(p)), NoCache: true, Parameters: sampleParameters(p)})
		if err != nil {
			r.reason = "does not compile: " + firstLine(err.Error())
			continue
		}
		var missing []string
		for _, im := range workflowImages(wf) {
			if n := normalizeImage(im); !have[n] {
				why := unserved[n]
				if why == "" {
					why = "not built locally"
				}
				missing = append(missing, fmt.Sprintf("image %s: %s", im, why))
			}
		}
		if len(missing) > 0 {
			r.reason = strings.Join(missing, "; ")
			continue
		}
		if !full && !subset[f] {
			r.reason = "images local, not in the CI subset (make e2e-full runs it)"
			continue
		}
		// A pipeline that waits for something that never comes (a secret
		// whose name is computed at run time) fails at its deadline.
		d := int64(240)
		wf.Spec.ActiveDeadlineSeconds = &d
		if err := ensureReferenced(context.Background(), wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		r.wf = wf
		toRun = append(toRun, r)
	}

	// Pipelines that mount an existing claim get its name from a string
	// parameter, which corpus.SampleParameters sets to its name; the
	// cluster's provisioner binds it to a host directory.
	if err := corpus.EnsureClaim(context.Background(), env.kube, env.ns); err != nil {
		t.Fatal(err)
	}

	// Two at a time: a Python pod takes most of a core for a second or two.
	began := time.Now()
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, r := range toRun {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			done, err := runWorkflow(context.Background(), r.wf, 5*time.Minute)
			r.done, r.secs = done, time.Since(start).Seconds()
			if err != nil {
				r.reason = err.Error()
				return
			}
			want := wfv1.WorkflowSucceeded
			if exp, ok := expectedReal[r.file]; ok {
				want = exp.phase
			}
			if done.Status.Phase != want {
				logs := failedLogs(done)
				if pkgs := pipRefusals(logs); len(pkgs) > 0 {
					r.offline = "needs PyPI (no network here): " + strings.Join(pkgs, ", ")
					return
				}
				if harness.NodeMessageContains(done, "GCS storage.NewClient") {
					r.offline = "reads a gs:// artifact (Google Cloud Storage; no network here)"
					return
				}
				if prog := missingProgram(logs); prog != "" {
					r.offline = fmt.Sprintf("runs %q, which no image has (a placeholder in an SDK test spec)", prog)
					return
				}
				r.reason = fmt.Sprintf("want %s: %s%s", want, harness.Describe(done), logs)
				return
			}
			r.ok = true
		}()
	}
	wg.Wait()

	n := 0
	for _, r := range runs {
		switch {
		case r.ok:
			n++
			t.Logf("ran for real: %s (%s) %s in %.1fs", r.file, r.wf.Name, r.done.Status.Phase, r.secs)
		case r.offline != "":
			t.Logf("ran for real, cannot succeed here: %s: %s", r.file, r.offline)
		case r.wf != nil:
			t.Errorf("FAILED for real: %s: %s", r.file, r.reason)
		default:
			t.Logf("not run: %s: %s", r.file, r.reason)
		}
	}
	t.Logf("%d workflows on real pods in %.1fs", len(toRun), time.Since(began).Seconds())
	offline := 0
	for _, r := range runs {
		if r.offline != "" {
			offline++
		}
	}
	// N counts runs that reached their expected phase on real pods.
	fmt.Printf("%d/%d corpus pipelines ran for real (%d more ran but cannot succeed here)\n", n, len(files), offline)
	t.Logf("%d/%d corpus pipelines ran for real (%d more ran but cannot succeed here)", n, len(files), offline)
}

// missingProgram returns the program a failed container could not find
// ("exec: my_program: not found").
func missingProgram(logs string) string {
	for _, line := range strings.Split(logs, "\n") {
		if _, rest, ok := strings.Cut(line, "exec: "); ok {
			if prog, ok := strings.CutSuffix(strings.TrimSpace(rest), ": not found"); ok {
				return prog
			}
		}
	}
	return ""
}

// pipelineName is the pipeline's name as a DNS label prefix.
func pipelineName(p *translate.Pipeline) string {
	n := strings.ToLower(p.Spec.PipelineInfo.Name)
	n = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			return r
		}
		return '-'
	}, n)
	if len(n) > 40 {
		n = n[:40]
	}
	n = strings.Trim(n, "-")
	if n == "" {
		n = "real"
	}
	return n
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
