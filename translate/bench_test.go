package translate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// BenchmarkCompileCorpus loads and compiles every valid corpus file once per iteration (the time of
// `kfp-argo compile` over the whole corpus, without Argo's validator).
func BenchmarkCompileCorpus(b *testing.B) {
	files := benchFiles(b)
	inputs := make([][]byte, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		inputs[i] = data
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i, data := range inputs {
			p, err := Load(files[i], data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Compile(p, corpusOptions(p)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(files)), "files/op")
}

// BenchmarkValidate measures Argo's validator on the compiled corpus, which compile runs before printing.
func BenchmarkValidate(b *testing.B) {
	files := benchFiles(b)
	var wfs []*wfv1.Workflow
	for _, f := range files {
		p, err := LoadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		wf, err := Compile(p, corpusOptions(p))
		if err != nil {
			b.Fatal(err)
		}
		wfs = append(wfs, wf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for _, w := range wfs {
			if err := argo.ValidateWorkflow(w); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchFiles(b *testing.B) []string {
	b.Helper()
	dir := filepath.Join(corpusDir, "valid")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("corpus not found at %s: %v", dir, err)
	}
	var files []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	return files
}

// BenchmarkSynthetic measures load, compile (with its limit checks) and Argo's validator on generated
// SDK-style pipelines (translate/synthir) of 100, 1,000 and 10,000 tasks. The manifest's JSON size is
// reported as bytes/manifest; a pipeline over the size limit reports the time to its error.
func BenchmarkSynthetic(b *testing.B) {
	for _, n := range []int{100, 1000, 3000, 10000} {
		ir := synthir.Generate(n, 1)
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			var validate time.Duration
			size := 0
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p, err := Load("synthetic.yaml", ir)
				if err != nil {
					b.Fatal(err)
				}
				wf, err := Compile(p, Options{})
				if err != nil {
					if strings.Contains(err.Error(), "MAX_WORKFLOW_SIZE") || strings.Contains(err.Error(), "limit") {
						size = -1
						continue
					}
					b.Fatal(err)
				}
				start := time.Now()
				check := *wf
				check.Spec = WithScriptStandIns(wf.Spec) // as kfp-argo compile validates
				if err := argo.ValidateWorkflow(&check); err != nil {
					b.Fatal(err)
				}
				validate += time.Since(start)
				raw, err := json.Marshal(wf)
				if err != nil {
					b.Fatal(err)
				}
				size = len(raw)
			}
			b.ReportMetric(float64(size), "bytes/manifest")
			b.ReportMetric(validate.Seconds()/float64(b.N), "validate-s/op")
		})
	}
}

// BenchmarkCorpusSizeVsKFP compares the corpus manifests with KFP's own compiled workflows of the same IR
// (test_data/compiled-workflows in kubeflow/pipelines, matched by file name), both parsed and written as
// compact JSON without status. It needs that folder outside the repository, named by
// KFP_ARGO_KFP_WORKFLOWS; it reports the median and total ratio (kfp-argo bytes / KFP bytes).
func BenchmarkCorpusSizeVsKFP(b *testing.B) {
	dir := os.Getenv("KFP_ARGO_KFP_WORKFLOWS")
	if dir == "" {
		b.Skip("KFP_ARGO_KFP_WORKFLOWS is not set (a copy of kubeflow/pipelines' test_data/compiled-workflows)")
	}
	compact := func(data []byte) int {
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			b.Fatal(err)
		}
		delete(obj, "status")
		raw, err := json.Marshal(obj)
		if err != nil {
			b.Fatal(err)
		}
		return len(raw)
	}
	var ratios []float64
	var ours, theirs int
	for n := 0; n < b.N; n++ {
		ratios, ours, theirs = nil, 0, 0
		for _, f := range benchFiles(b) {
			kfp, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))+".yaml"))
			if err != nil {
				continue
			}
			p, err := LoadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			wf, err := Compile(p, corpusOptions(p))
			if err != nil {
				b.Fatal(err)
			}
			// What compile prints (and the API server stores), not the Go struct's JSON, which carries empty
			// fields Kubernetes types marshal for unset structs.
			raw, err := argo.MarshalFor(wf, "json", argo.V3)
			if err != nil {
				b.Fatal(err)
			}
			o, k := compact(raw), compact(kfp)
			ours += o
			theirs += k
			ratios = append(ratios, float64(o)/float64(k))
		}
	}
	if len(ratios) == 0 {
		b.Fatalf("no corpus file has a KFP workflow in %s", dir)
	}
	sort.Float64s(ratios)
	median := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		median = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
	}
	b.ReportMetric(float64(len(ratios)), "pipelines")
	b.ReportMetric(median, "median-ratio")
	b.ReportMetric(float64(ours)/float64(theirs), "total-ratio")
	b.ReportMetric(float64(ours), "kfp-argo-bytes")
	b.ReportMetric(float64(theirs), "kfp-bytes")
}
