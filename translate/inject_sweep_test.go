package translate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
)

// The injection sweep (issue #12, item 7): every string field and every map key of every corpus spec is made to
// hold text Argo would evaluate, the result is compiled, and the compiled spec is rendered with Argo's own
// template engine (util/template, as the controller substitutes globals): no user marker may be substituted,
// and none may be left raw where Argo evaluates. A sentinel before each marker tells user text from the tags
// kfp-argo generates ({{workflow.uid}} is one of them).
const sweepSentinel = "kfpsweep"

var sweepMarkers = []struct{ text, rendered string }{
	{sweepSentinel + "{{workflow.uid}}", sweepSentinel + "SWEEPUID"},
	{sweepSentinel + "{{=sprig.upper('x')}}", sweepSentinel + "X"},
}

// sweepScope is what the controller offers every template (globals), with a recognisable uid.
var sweepScope = map[string]any{"workflow.uid": "SWEEPUID", "workflow.name": "sweep", "workflow.namespace": "default"}

// substitutions counts the places in the compiled workflow's spec where Argo would evaluate a user marker:
// markers left raw, and markers Argo's engine substitutes. Metadata (labels, annotations) is checked by the
// caller: Argo does not evaluate it.
func substitutions(wf *wfv1.Workflow) (int, string) {
	blob, err := json.Marshal(wf.Spec)
	if err != nil {
		return 1, err.Error()
	}
	s := string(blob)
	n := strings.Count(s, sweepSentinel+"{{")
	where := ""
	if i := strings.Index(s, sweepSentinel+"{{"); i >= 0 {
		where = excerpt(s, i)
	}
	out, err := template.Replace(s, sweepScope, true)
	if err != nil {
		return n + 1, "render: " + err.Error()
	}
	for _, m := range sweepMarkers {
		if i := strings.Index(out, m.rendered); i >= 0 {
			n += strings.Count(out, m.rendered)
			where = excerpt(out, i)
		}
	}
	return n, where
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-160), min(len(s), i+80)
	return s[lo:hi]
}

// sweepDocs reads a corpus file as its generic JSON documents (archives unpacked as Load does).
func sweepDocs(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		if _, data, err = fromZip(data); err != nil {
			t.Fatal(err)
		}
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		if _, data, err = fromTarGz(data); err != nil {
			t.Fatal(err)
		}
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []map[string]any
	for {
		raw, err := reader.Read()
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		obj, err := yamlObject(raw)
		if err != nil {
			t.Fatal(err)
		}
		if obj != nil {
			docs = append(docs, obj)
		}
	}
}

// A sweepSite is one string value or map key of a document, by concrete path; its pattern replaces map keys
// by * and list indexes by [], so the sites of one pattern are mutated together.
type sweepSite struct {
	doc     int
	path    []any // string keys and int indexes
	key     bool  // the map key at path, not the value
	pattern string
}

func sweepSites(docs []map[string]any) []sweepSite {
	var sites []sweepSite
	var walk func(doc int, v any, path []any, pattern string)
	walk = func(doc int, v any, path []any, pattern string) {
		switch x := v.(type) {
		case string:
			sites = append(sites, sweepSite{doc: doc, path: append([]any(nil), path...), pattern: pattern})
		case []any:
			for i, e := range x {
				walk(doc, e, append(path, i), pattern+"[]")
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				p := append(path, k)
				// Keys of fixed schema fields keep their name in the pattern; user-chosen keys (names) are *.
				kp := pattern + "." + k
				if userKeyed(pattern) {
					kp = pattern + ".*"
					sites = append(sites, sweepSite{doc: doc, path: append([]any(nil), p...), key: true, pattern: kp + "(key)"})
				}
				walk(doc, x[k], p, kp)
			}
		}
	}
	for i, d := range docs {
		walk(i, d, nil, fmt.Sprintf("doc%d", i))
	}
	return sites
}

// userKeyed tells maps whose keys are names the user chose (tasks, components, inputs, ...) from messages
// whose keys are proto field names: a field name mutated is only an unknown-field error.
func userKeyed(pattern string) bool {
	for _, suffix := range []string{
		".components", ".executors", ".tasks", ".parameters", ".artifacts", ".platforms",
		".parameterValues", ".metadata", ".nodeSelector", ".labels", ".annotations", ".constant", ".structValue",
		".defaultValue", ".outputParameters", ".outputArtifacts", ".inputParameters", ".inputArtifacts",
		".fields", ".taskOutputParameter", ".customProperties", ".properties", ".taskInfo", ".secretNameParameter",
	} {
		if strings.HasSuffix(pattern, suffix) {
			return true
		}
	}
	// Struct values (platform specs' JSON, constants) are free-form: every map below them is user-keyed.
	return strings.Contains(pattern, ".constant.") || strings.Contains(pattern, ".defaultValue.") ||
		strings.Contains(pattern, ".constant[") || strings.Contains(pattern, ".defaultValue[") ||
		strings.Contains(pattern, ".metadata.") || strings.Contains(pattern, "Patch.")
}

// mutate returns a deep copy of docs with marker added to every site of one pattern. A renamed key also
// renames every string that equals it, so references (componentRef, producerTask, ...) still resolve.
func mutate(docs []map[string]any, sites []sweepSite, marker string) []map[string]any {
	var cp []map[string]any
	blob, _ := json.Marshal(docs)
	dec := json.NewDecoder(bytes.NewReader(blob))
	dec.UseNumber()
	if err := dec.Decode(&cp); err != nil {
		panic(err)
	}
	renamed := map[string]string{}
	// Deepest first, so a parent key renamed later does not lose the path of its children.
	sort.SliceStable(sites, func(i, j int) bool { return len(sites[i].path) > len(sites[j].path) })
	for _, s := range sites {
		var parent any = cp[s.doc]
		for _, step := range s.path[:len(s.path)-1] {
			switch st := step.(type) {
			case string:
				parent = parent.(map[string]any)[st]
			case int:
				parent = parent.([]any)[st]
			}
		}
		switch last := s.path[len(s.path)-1].(type) {
		case string:
			m := parent.(map[string]any)
			if s.key {
				m[last+marker] = m[last]
				delete(m, last)
				renamed[last] = last + marker
			} else {
				m[last] = m[last].(string) + marker
			}
		case int:
			l := parent.([]any)
			l[last] = l[last].(string) + marker
		}
	}
	if len(renamed) == 0 {
		return cp
	}
	var rename func(v any) any
	rename = func(v any) any {
		switch x := v.(type) {
		case string:
			if n, ok := renamed[x]; ok {
				return n
			}
		case []any:
			for i := range x {
				x[i] = rename(x[i])
			}
		case map[string]any:
			for k, e := range x {
				x[k] = rename(e)
			}
		}
		return v
	}
	for i := range cp {
		rename(cp[i])
	}
	return cp
}

func docsBytes(docs []map[string]any) []byte {
	var b bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			b.WriteString("\n---\n")
		}
		blob, err := json.Marshal(d)
		if err != nil {
			panic(err)
		}
		b.Write(blob)
	}
	return b.Bytes()
}

// sweepFiles are the repository's own test pipelines (they use every kfp-kubernetes setting kfp-argo compiles)
// and the corpus specs: every one with KFP_ARGO_SWEEP=all, else a deterministic subset (every sweepStride-th
// file, and every file with a platform spec) that keeps `make test` near a minute on a loaded machine.
func sweepFiles(t *testing.T) []string {
	own, err := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	if err != nil || len(own) == 0 {
		t.Fatalf("no test pipelines: %v", err)
	}
	files := corpusFiles(t, "valid")
	if os.Getenv("KFP_ARGO_SWEEP") == "all" {
		return append(own, files...)
	}
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i%sweepStride == 0 || bytes.Contains(data, []byte("platforms:")) {
			own = append(own, f)
		}
	}
	return own
}

const sweepStride = 3

// TestInjectionSweep is the acceptance sweep of issue #12.
func TestInjectionSweep(t *testing.T) {
	var tried, compiled, rejected, found, sites int
	patterns := map[string]bool{}
	for _, f := range sweepFiles(t) {
		rel := f
		if r, err := filepath.Rel(corpusDir, f); err == nil && !strings.HasPrefix(r, "..") {
			rel = r
		}
		docs := sweepDocs(t, f)
		all := sweepSites(docs)
		sites += len(all)
		groups := map[string][]sweepSite{}
		for _, s := range all {
			groups[s.pattern] = append(groups[s.pattern], s)
		}
		for _, pattern := range sortedMapKeys(groups) {
			patterns[pattern] = true
			for _, m := range sweepMarkers {
				tried++
				p, err := Load(rel, docsBytes(mutate(docs, groups[pattern], m.text)))
				var wf *wfv1.Workflow
				if err == nil {
					wf, err = Compile(p, corpusOptions(p))
				}
				if err != nil {
					rejected++
					continue
				}
				compiled++
				if err := argo.ValidateWorkflow(wf); err != nil {
					t.Errorf("%s: %s %q: compiled but invalid: %v", rel, pattern, m.text, err)
				}
				if n, where := substitutions(wf); n > 0 {
					found += n
					t.Errorf("%s: %s with %q: %d substitution(s): ...%s...", rel, pattern, m.text, n, where)
				}
			}
		}
	}
	t.Logf("injection sweep: %d sites in %d path patterns; %d mutations, %d compiled, %d rejected with an error, %d substitutions",
		sites, len(patterns), tried, compiled, rejected, found)
}

// TestInjectionSweepFlags does the same for every compile and submit flag that reaches the manifest (the
// Options they fill): the flag's text holds a marker, plainly and URL-escaped where the flag is a URL.
func TestInjectionSweepFlags(t *testing.T) {
	python := readFixture(t, "kfp-executor-contract.yaml")
	var tried, compiled, found int
	for _, m := range sweepMarkers {
		esc := url.QueryEscape(m.text)
		pathEsc := url.PathEscape(m.text)
		flags := []struct {
			flag string
			src  string
			opts Options
		}{
			{"--input-artifact value", withArtifactInput, Options{InputArtifacts: map[string]string{"data": "gs://b/k" + m.text}}},
			{"--input-artifact value, escaped", withArtifactInput, Options{InputArtifacts: map[string]string{"data": "gs://b/k" + pathEsc}}},
			{"--input-artifact value, http", withArtifactInput, Options{InputArtifacts: map[string]string{"data": "https://h/k?q=" + m.text}}},
			{"--input-artifact name", withArtifactInput, Options{InputArtifacts: map[string]string{"data" + m.text: "gs://b/k"}}},
			{"--service-account", minimal, Options{ServiceAccount: "sa" + m.text}},
			{"--artifact-repository-ref KEY", minimal, Options{ArtifactRepositoryRef: "k" + m.text}},
			{"--artifact-repository-ref CONFIGMAP/KEY", minimal, Options{ArtifactRepositoryRef: "cm" + m.text + "/k"}},
			{"--artifact-repository-ref CONFIGMAP/KEY (key)", minimal, Options{ArtifactRepositoryRef: "cm/k" + m.text}},
			{"-n", minimal, Options{Namespace: "ns" + m.text}},
			{"--generate-name", minimal, Options{GenerateName: "g" + m.text + "-"}},
			{"--name", minimal, Options{Name: "n" + m.text}},
			{"--artifact-store bucket", withArtifactInput, Options{ArtifactStore: "s3://b" + pathEsc, InputArtifacts: map[string]string{"data": "s3://b/k"}}},
			{"--artifact-store endpoint", withArtifactInput, Options{ArtifactStore: "s3://b?endpoint=h:9000" + esc, InputArtifacts: map[string]string{"data": "s3://other/k"}}},
			{"--artifact-store region", withArtifactInput, Options{ArtifactStore: "s3://b?endpoint=h:9000&region=r" + esc, InputArtifacts: map[string]string{"data": "s3://other/k"}}},
			{"--artifact-store secret", withArtifactInput, Options{ArtifactStore: "s3://b?endpoint=h:9000&secret=s" + esc, InputArtifacts: map[string]string{"data": "s3://other/k"}}},
			{"--artifact-store accessKeyKey", withArtifactInput, Options{ArtifactStore: "s3://b?endpoint=h:9000&secret=s&accessKeyKey=a" + esc, InputArtifacts: map[string]string{"data": "s3://other/k"}}},
			{"--labels key", minimal, Options{Labels: map[string]string{"k" + m.text: "v"}}},
			{"--labels value", minimal, Options{Labels: map[string]string{"k": "v" + m.text}}},
			{"--annotations key", minimal, Options{Annotations: map[string]string{"k" + m.text: "v"}}},
			{"--annotations value", minimal, Options{Annotations: map[string]string{"k": "v" + m.text}}},
			{"--instance-id", minimal, Options{InstanceID: "i" + m.text}},
			{"--pod-gc", minimal, Options{PodGC: "OnPodSuccess" + m.text}},
			{"-p (STRING)", python, Options{Parameters: map[string]any{"message": "hi" + m.text}}},
			{"-p (name)", python, Options{Parameters: map[string]any{"message" + m.text: "hi"}}},
		}
		for _, f := range flags {
			tried++
			p, err := Load("p.yaml", []byte(f.src))
			if err != nil {
				t.Fatal(err)
			}
			wf, err := Compile(p, f.opts)
			if err != nil {
				t.Logf("%s %q: rejected: %v", f.flag, m.text, err)
				continue
			}
			compiled++
			if err := argo.ValidateWorkflow(wf); err != nil {
				t.Errorf("%s %q: compiled but invalid: %v", f.flag, m.text, err)
			}
			n, where := substitutions(wf)
			// Metadata is not evaluated by Argo, but names and labels must be Kubernetes names; annotation
			// values are free text that Argo leaves alone.
			meta := wf.ObjectMeta.DeepCopy()
			meta.Annotations = nil
			if blob, _ := json.Marshal(meta); strings.Contains(string(blob), sweepSentinel+"{{") {
				n++
				where = string(blob)
			}
			if n > 0 {
				found += n
				t.Errorf("%s %q: %d substitution(s): ...%s...", f.flag, m.text, n, where)
			}
		}
	}
	t.Logf("flag sweep: %d mutations, %d compiled, %d rejected with an error, %d substitutions", tried, compiled, tried-compiled, found)
}
