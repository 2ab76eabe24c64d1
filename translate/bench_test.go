package translate

import (
	"os"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/argo"
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
