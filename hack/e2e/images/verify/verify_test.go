// Package verify runs every image that hack/e2e/images.sh built with runc, as
// root, on what the e2e pipelines will ask of it: KFP's real executor on real
// corpus components, the pip stand-in, the shells, argoexec and pause. It
// needs the built images and root, so it runs only through
// hack/e2e/images/verify.sh (E2E_IMAGES_DIR set), never in `make test`.
package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"
)

// bundle is an unpacked image ready for `runc run`.
type bundle struct {
	dir, rootfs string
	cfg         v1.Config
}

func imagesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("E2E_IMAGES_DIR")
	if dir == "" {
		t.Skip("E2E_IMAGES_DIR not set: run hack/e2e/images/verify.sh")
	}
	if os.Geteuid() != 0 {
		t.Skip("runc needs root")
	}
	return dir
}

// unpack flattens the image named ref from images.tsv into a runc bundle.
func unpack(t *testing.T, ref string) bundle {
	t.Helper()
	dir := imagesDir(t)
	tarPath := ""
	tsv, err := os.ReadFile(filepath.Join(dir, "images.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(tsv)), "\n") {
		file, n, _ := strings.Cut(line, "\t")
		if n == ref {
			tarPath = filepath.Join(dir, file)
		}
	}
	if tarPath == "" {
		t.Fatalf("%s not in %s/images.tsv", ref, dir)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(tarPath, &tag)
	if err != nil {
		t.Fatalf("%s in %s: %v", ref, tarPath, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	b := bundle{dir: t.TempDir(), cfg: cf.Config}
	b.rootfs = filepath.Join(b.dir, "rootfs")
	if err := os.Mkdir(b.rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	// GNU tar as root restores owners, modes and links exactly as a
	// snapshotter would.
	untar := exec.Command("tar", "-x", "-p", "--numeric-owner", "-C", b.rootfs)
	untar.Stdin = mutate.Extract(img)
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("unpack %s: %v\n%s", ref, err, out)
	}
	return b
}

type result struct {
	stdout, stderr string
	code           int
}

// start prepares `runc run` of args (like a pod's command; with command
// empty the image's entrypoint is prepended, like a pod's args) with the
// image's environment, working directory and user.
func (b bundle) start(t *testing.T, ctx context.Context, id string, command, args []string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	// A bundle runs more than once: start from a fresh default spec each time.
	if err := os.Remove(filepath.Join(b.dir, "config.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if out, err := exec.Command("runc", "spec", "--bundle", b.dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	argv := command
	if len(argv) == 0 {
		argv = b.cfg.Entrypoint
		if len(args) == 0 {
			args = b.cfg.Cmd
		}
	}
	argv = append(append([]string{}, argv...), args...)
	cwd := b.cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	uid, gid := 0, 0
	if u := b.cfg.User; u != "" {
		us, gs, _ := strings.Cut(u, ":")
		if uid, err = strconv.Atoi(us); err != nil {
			t.Fatalf("user %q: %v", u, err)
		}
		if gs != "" {
			if gid, err = strconv.Atoi(gs); err != nil {
				t.Fatalf("user %q: %v", u, err)
			}
		}
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = argv
	proc["env"] = b.cfg.Env
	proc["cwd"] = cwd
	proc["user"] = map[string]any{"uid": uid, "gid": gid}
	spec["root"] = map[string]any{"path": "rootfs", "readonly": false}
	raw, err = json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "runc", "run", "--bundle", b.dir, id)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.Cleanup(func() { _ = exec.Command("runc", "delete", "--force", id).Run() })
	return cmd, &stdout, &stderr
}

func (b bundle) run(t *testing.T, id string, command, args []string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd, stdout, stderr := b.start(t, ctx, id, command, args)
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("runc run %s: %v\n%s", id, err, r.stderr)
	}
	t.Logf("%s %q: exit %d\nstdout: %s\nstderr: %s", id, append(command, args...), r.code, r.stdout, r.stderr)
	return r
}

// corpusExecutor returns command and args of an executor of a corpus pipeline.
func corpusExecutor(t *testing.T, file, executor string) (string, []string, []string) {
	t.Helper()
	path := filepath.Join(corpusDir(t), file)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		DeploymentSpec struct {
			Executors map[string]struct {
				Container struct {
					Image   string   `json:"image"`
					Command []string `json:"command"`
					Args    []string `json:"args"`
				} `json:"container"`
			} `json:"executors"`
		} `json:"deploymentSpec"`
	}
	// The corpus files start with the pipeline spec document.
	if err := yaml.Unmarshal(bytes.SplitN(raw, []byte("\n---"), 2)[0], &spec); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	e, ok := spec.DeploymentSpec.Executors[executor]
	if !ok {
		t.Fatalf("%s: no executor %s", path, executor)
	}
	return e.Container.Image, e.Container.Command, e.Container.Args
}

func corpusDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KFP_IR_DIR")
	if dir == "" {
		dir = "../../../../../shared/kfp-ir"
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (set KFP_IR_DIR): %v", dir, err)
	}
	return dir
}

// substitute replaces the {{$}} placeholder, as the kfp-argo runtime does.
func substitute(args []string, executorInput string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{{$}}", executorInput)
	}
	return out
}

func qualified(image string) string {
	ref, err := name.ParseReference(image)
	if err != nil {
		return image
	}
	s := ref.Name()
	return strings.Replace(s, "index.docker.io/", "docker.io/", 1)
}

// runCorpusExecutor runs an executor of a corpus pipeline, unmodified except
// for {{$}}, in the image the pipeline names, and decodes the executor output
// file that KFP's executor wrote into out.
func runCorpusExecutor(t *testing.T, id, file, executor, input string, out any) []byte {
	t.Helper()
	image, command, args := corpusExecutor(t, file, executor)
	b := unpack(t, qualified(image))
	if r := b.run(t, id, command, substitute(args, input)); r.code != 0 {
		t.Fatalf("%s %s in %s: executor failed with %d", file, executor, image, r.code)
	}
	raw, err := os.ReadFile(filepath.Join(b.rootfs, "tmp/kfp_outputs/output_metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	t.Logf("executor output: %s", raw)
	return raw
}

func TestKFPExecutorParameters(t *testing.T) {
	var out struct {
		ParameterValues map[string]any `json:"parameterValues"`
	}
	raw := runCorpusExecutor(t, "verify-kfp-params", "valid/critical/parameters_simple.yaml", "exec-double",
		`{"inputs":{"parameterValues":{"num":21}},"outputs":{"parameters":{"Output":{"outputFile":"/tmp/outputs/Output/data"}},"outputFile":"/tmp/kfp_outputs/output_metadata.json"}}`,
		&out)
	if got := out.ParameterValues["Output"]; got != float64(42) {
		t.Fatalf("executor output %s: Output = %v, want 42", raw, got)
	}
}

func TestKFPExecutorMetrics(t *testing.T) {
	var out struct {
		Artifacts map[string]struct {
			Artifacts []struct {
				Metadata map[string]any `json:"metadata"`
			} `json:"artifacts"`
		} `json:"artifacts"`
	}
	raw := runCorpusExecutor(t, "verify-kfp-metrics", "valid/output_metrics.yaml", "exec-output-metrics",
		`{"outputs":{"artifacts":{"metrics":{"artifacts":[{"name":"metrics","type":{"schemaTitle":"system.Metrics","schemaVersion":"0.0.1"},"uri":"s3://bucket/run/metrics","metadata":{}}]}},"outputFile":"/tmp/kfp_outputs/output_metadata.json"}}`,
		&out)
	arts := out.Artifacts["metrics"].Artifacts
	if len(arts) != 1 {
		t.Fatalf("executor output %s: want one metrics artifact", raw)
	}
	acc, ok := arts[0].Metadata["accuracy"].(float64)
	if !ok || acc < 0 || acc > 100 {
		t.Fatalf("executor output %s: accuracy %v, want a number in [0,100]", raw, arts[0].Metadata["accuracy"])
	}
}

// TestKFPExecutorDebianPackage runs a component whose prologue pip-installs
// yapf: the stand-in accepts it because Debian's python3-yapf is installed,
// and the component imports it.
func TestKFPExecutorDebianPackage(t *testing.T) {
	const file, executor = "valid/essential/component_with_pip_install.yaml", "exec-component-with-pip-install"
	image, command, args := corpusExecutor(t, file, executor)
	r := unpack(t, qualified(image)).run(t, "verify-kfp-yapf", command,
		substitute(args, `{"outputs":{"outputFile":"/tmp/kfp_outputs/output_metadata.json"}}`))
	if r.code != 0 || !strings.Contains(r.stdout, "'FormatFiles'") {
		t.Fatalf("%s %s: exit %d, want 0 and yapf's names (FormatFiles) printed", file, executor, r.code)
	}
}

func TestPipStandIn(t *testing.T) {
	b := unpack(t, "docker.io/library/python:3.11")
	ok := b.run(t, "verify-pip-ok", []string{"python3", "-m", "pip", "install", "--quiet", "--no-warn-script-location",
		"kfp==2.14.3", "--no-deps", `typing-extensions>=3.7.4,<5; python_version<"3.9"`, "yapf", "dill==0.3.7"}, nil)
	if ok.code != 0 {
		t.Fatalf("pip install kfp: exit %d", ok.code)
	}
	bad := b.run(t, "verify-pip-missing", []string{"pip", "install", "kfp", "pandas==2.2.0"}, nil)
	if bad.code == 0 || !strings.Contains(bad.stderr, "'pandas==2.2.0'") || !strings.Contains(bad.stderr, "no PyPI") ||
		strings.Contains(bad.stderr, "'kfp'") {
		t.Fatalf("pip install pandas: exit %d, stderr %q; want a failure naming pandas only", bad.code, bad.stderr)
	}
}

func TestShells(t *testing.T) {
	for _, c := range []struct{ image, id, want string }{
		{"docker.io/library/alpine:latest", "verify-alpine", "hi"},
		{"ghcr.io/containerd/busybox:latest", "verify-busybox", "hi"},
		{"docker.io/library/bash:latest", "verify-bash", "hi"},
		{"docker.io/jetbrainsinfra/jq:latest", "verify-jq", "hi"},
		{"docker.io/library/python:alpine3.9", "verify-python-sh", "hi"},
	} {
		r := unpack(t, c.image).run(t, c.id, []string{"sh", "-c", "mkdir -p /tmp/a/b && echo hi | tee /tmp/a/b/out"}, nil)
		if r.code != 0 || strings.TrimSpace(r.stdout) != c.want {
			t.Errorf("%s: exit %d, stdout %q, want %q", c.image, r.code, r.stdout, c.want)
		}
	}
	if r := unpack(t, "docker.io/library/bash:latest").run(t, "verify-bash-array", []string{"bash", "-c", `a=(x y z); echo "${#a[@]} $BASH_VERSION"`}, nil); r.code != 0 || !strings.HasPrefix(r.stdout, "3 5.") {
		t.Errorf("bash: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := unpack(t, "docker.io/jetbrainsinfra/jq:latest").run(t, "verify-jq-add", []string{"sh", "-c", "echo '[1,2,3]' | jq add"}, nil); r.code != 0 || strings.TrimSpace(r.stdout) != "6" {
		t.Errorf("jq: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestArgoexecVersion(t *testing.T) {
	r := unpack(t, "quay.io/argoproj/argoexec:v3.7.18").run(t, "verify-argoexec", nil, []string{"version"})
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "v3.7.18") {
		t.Fatalf("argoexec version: exit %d, output %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestPauseStopsOnSIGTERM(t *testing.T) {
	b := unpack(t, "registry.k8s.io/pause:3.10.2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, _, stderr := b.start(t, ctx, "verify-pause", nil, nil)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until runc reports the container running, then stop it.
	for {
		out, _ := exec.Command("runc", "state", "verify-pause").Output()
		var st struct{ Status string }
		if json.Unmarshal(out, &st) == nil && st.Status == "running" {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("pause never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := exec.Command("runc", "kill", "verify-pause", "TERM").CombinedOutput(); err != nil {
		t.Fatalf("runc kill: %v\n%s", err, out)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pause after SIGTERM: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "terminated") {
		t.Fatalf("pause stderr %q, want the shutdown message", stderr)
	}
	t.Logf("pause: %s", stderr)
}

// TestNamesInTSV checks that every line of images.tsv names an image its
// tarball carries.
func TestNamesInTSV(t *testing.T) {
	dir := imagesDir(t)
	f, err := os.Open(filepath.Join(dir, "images.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); n++ {
		file, ref, _ := strings.Cut(s.Text(), "\t")
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Errorf("%q: %v", ref, err)
			continue
		}
		if _, err := tarball.ImageFromPath(filepath.Join(dir, file), &tag); err != nil {
			t.Errorf("%s does not carry %s: %v", file, ref, err)
		}
	}
	fmt.Printf("%d image names in images.tsv\n", n)
}
