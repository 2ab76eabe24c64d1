package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/test/crdschema"
	"github.com/kfp-argo/kfp-argo/translate"
)

const corpusValid = "../../../shared/kfp-ir/valid"

// compileArgs are the flags a user gives compile for a pipeline that needs values: a location for each required
// input artifact and, for a CronWorkflow, a value for each required parameter (in a params file).
func compileArgs(t *testing.T, file, kind string) []string {
	t.Helper()
	p, err := translate.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"compile", file, "--kind", kind}
	params := map[string]any{}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			if !def.IsOptional && !def.IsArtifactList {
				args = append(args, "--input-artifact", name+"=gs://bucket/"+name)
			}
		}
		for name, def := range in.Parameters {
			if kind == "cronworkflow" && def.DefaultValue == nil && !def.IsOptional {
				params[name] = standInValue(def.ParameterType)
			}
		}
	}
	if kind == "cronworkflow" {
		args = append(args, "--schedule", "0 3 * * *")
	}
	if len(params) > 0 {
		f := filepath.Join(t.TempDir(), "params.json")
		b, _ := json.Marshal(params)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--params-file", f)
	}
	return args
}

// TestCorpusPrintedManifests holds what `compile` prints for every corpus pipeline, as each kind in YAML and in
// JSON, to the structural schemas of Argo's full CRDs (required fields, types, unknown fields, patterns,
// lengths): --argo-version v3 (the default) to those of Argo v3.7.18, --argo-version v4 to those of v4.0.7. It
// also checks that the printed bytes decode to the workflow Argo's validator passed. The e2e tests send the
// same bytes to a real API server with v3.7.18's full CRDs (TestPrintedCorpusServerDryRun).
func TestCorpusPrintedManifests(t *testing.T) {
	var files []string
	_ = filepath.WalkDir(corpusValid, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".zip") || strings.HasSuffix(path, ".tar.gz")) {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skipf("corpus not found at %s (it lives in ../shared/kfp-ir beside the repository)", corpusValid)
	}
	targets := []struct {
		flag, module, version string
		crds                  *crdschema.Schemas
	}{
		{flag: "v3", module: "github.com/argoproj/argo-workflows/v3", version: "v3.7.18"},
		{flag: "v4", module: "github.com/argoproj/argo-workflows/v4", version: "v4.0.7"},
	}
	for i := range targets {
		s, err := crdschema.ArgoFullCRDs(targets[i].module, targets[i].version)
		if err != nil {
			t.Fatal(err)
		}
		targets[i].crds = s
	}
	checked := 0
	for _, f := range files {
		for _, kind := range []string{"workflow", "workflowtemplate", "cronworkflow"} {
			for _, format := range []string{"yaml", "json"} {
				for _, target := range targets {
					out, stderr, err := run(append(compileArgs(t, f, kind), "-o", format, "--argo-version", target.flag)...)
					if err != nil {
						t.Errorf("%s --kind %s -o %s: %v %s", f, kind, format, err, stderr)
						continue
					}
					errs, err := target.crds.Check([]byte(out))
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					if len(errs) > 0 {
						t.Errorf("%s --kind %s -o %s --argo-version %s: rejected by Argo %s's full CRD schema:\n%s", f, kind, format, target.flag, target.version, crdschema.Summary(errs))
					}
					if kind == "workflow" && target.flag == "v3" {
						assertRoundTrip(t, f, format, out)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d printed manifests (%d pipelines, 3 kinds, yaml and json, --argo-version v3 and v4) pass the full CRD schemas of Argo v3.7.18 and v4.0.7", checked, len(files))
}

// assertRoundTrip: the printed bytes decode to the workflow compile validated, nothing the controller reads
// dropped by the printer.
func assertRoundTrip(t *testing.T, file, format, out string) {
	t.Helper()
	p, err := translate.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	opts := translate.Options{InputArtifacts: map[string]string{}}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			if !def.IsOptional && !def.IsArtifactList {
				opts.InputArtifacts[name] = "gs://bucket/" + name
			}
		}
	}
	want, err := translate.Compile(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
		t.Fatalf("%s -o %s: %v", file, format, err)
	}
	// withItems are raw JSON: compare their values, not their spacing.
	rawJSON := cmp.Transformer("rawJSON", func(r json.RawMessage) any {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			return string(r)
		}
		return v
	})
	if diff := cmp.Diff(want, &got, rawJSON); diff != "" {
		t.Errorf("%s -o %s: the printed manifest decodes to another workflow (-compiled +printed):\n%s", file, format, diff)
	}
}

// TestLintServerSendsPrintedBytes: lint --server sends exactly what compile prints (on the wire, to an API
// server), with a server-side dry run and strict field validation, and reports what the API server says.
func TestLintServerSendsPrintedBytes(t *testing.T) {
	file := "../../testdata/pipelines/container-io.yaml"
	for _, format := range []string{"yaml", "json"} {
		printed, _, err := run("compile", file, "-o", format)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := yaml.Unmarshal([]byte(printed), &want); err != nil {
			t.Fatal(err)
		}
		var requests []string
		var body map[string]any
		reject := false
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests = append(requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &body)
			w.Header().Set("Content-Type", "application/json")
			if reject {
				w.WriteHeader(http.StatusUnprocessableEntity)
				fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,"message":"Workflow.argoproj.io \"x\" is invalid: spec.templates[1].memoize.maxAge: Required value"}`)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(b)
		}))
		e := &env{clients: func(argo.ClientOptions) (*argo.Clients, error) {
			return argo.NewClientsForConfig(&rest.Config{Host: srv.URL}, "team-a")
		}}
		lint := func() (string, error) {
			root := NewRootCommand()
			for _, c := range root.Commands() {
				if c.Name() == "lint" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newLintCommand(e))
			var out strings.Builder
			root.SetOut(&out)
			root.SetArgs([]string{"lint", "--server", "-o", format, file})
			err := root.ExecuteContext(context.Background())
			return out.String(), err
		}
		if out, err := lint(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		wantReq := "POST /apis/argoproj.io/v1alpha1/namespaces/team-a/workflows?dryRun=All&fieldValidation=Strict"
		if len(requests) != 1 || requests[0] != wantReq {
			t.Errorf("requests %q, want [%q]", requests, wantReq)
		}
		if !reflect.DeepEqual(body, want) {
			b, _ := json.Marshal(body)
			t.Errorf("-o %s: lint sent\n%s\ncompile prints\n%s", format, b, printed)
		}
		reject = true
		out, err := lint()
		if err == nil || !strings.Contains(out, file+": error: server dry run of the Workflow in namespace team-a: ") || !strings.Contains(out, "memoize.maxAge: Required value") {
			t.Errorf("a rejection: err %v, output %q", err, out)
		}
		srv.Close()
	}
}

// TestPrintedManifestsWithEveryFlag: the flags the corpus run does not set (TTL, pod GC, parallelism, service
// account, deadlines, instance ID, artifact repository, labels, the cron settings) print fields the full CRDs
// of both Argo versions accept.
func TestPrintedManifestsWithEveryFlag(t *testing.T) {
	crds := map[string]*crdschema.Schemas{}
	for flag, mv := range map[string][2]string{"v3": {"github.com/argoproj/argo-workflows/v3", "v3.7.18"}, "v4": {"github.com/argoproj/argo-workflows/v4", "v4.0.7"}} {
		s, err := crdschema.ArgoFullCRDs(mv[0], mv[1])
		if err != nil {
			t.Fatal(err)
		}
		crds[flag] = s
	}
	common := []string{"--ttl", "24h", "--active-deadline", "2h", "--parallelism", "3", "--pod-gc", "OnPodSuccess",
		"--service-account", "runner", "--instance-id", "team-a", "--artifact-repository-ref", "repos/s3", "-n", "team-a",
		"--labels", "team=a", "--annotations", "owner=me"}
	for _, fixture := range []string{"platform-volumes", "platform-scheduling", "exit-handler", "loops", "workspace", "collected-artifacts"} {
		file := filepath.Join("..", "..", "testdata", "pipelines", fixture+".yaml")
		for _, kind := range [][]string{
			{"--kind", "workflow", "--name", "run-1"},
			{"--kind", "workflowtemplate", "--name", "tmpl"},
			{"--kind", "cronworkflow", "--name", "nightly", "--schedule", "0 3 * * *", "--schedule", "0 15 * * *",
				"--timezone", "Europe/Paris", "--concurrency-policy", "Forbid", "--starting-deadline", "5m"},
		} {
			for target, s := range crds {
				for _, format := range []string{"yaml", "json"} {
					args := append(append(append([]string{"compile", file}, common...), kind...), "-o", format, "--argo-version", target)
					out, stderr, err := run(args...)
					if err != nil {
						t.Errorf("%v: %v %s", args, err, stderr)
						continue
					}
					errs, err := s.Check([]byte(out))
					if err != nil {
						t.Fatal(err)
					}
					if len(errs) > 0 {
						t.Errorf("%v: rejected by the full CRDs of Argo %s:\n%s", args, target, crdschema.Summary(errs))
					}
				}
			}
		}
	}
}
