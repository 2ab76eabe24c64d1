package translate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
)

// FuzzLoadCompileValidate feeds arbitrary bytes through what `kfp-argo compile` does: load (YAML/JSON,
// archives), compile, Argo's validator and the printer. Whatever the input, there is no panic, every error
// from Load names the file, and a workflow that compiles is one Argo's validator accepts (an invalid one would
// be a kfp-argo bug) and that prints. The seed corpus is every file of ../shared/kfp-ir; `go test` runs the
// seeds, `go test ./translate -run '^$' -fuzz FuzzLoadCompileValidate -fuzztime 30m` searches.
func FuzzLoadCompileValidate(f *testing.F) {
	dir := filepath.Join(corpusDir)
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"proto"+string(filepath.Separator)) {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil && len(data) < 1<<20 {
			f.Add(data)
		}
		return nil
	})
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("load error does not name the file: %v", err)
			}
			return
		}
		wf, err := Compile(p, corpusOptions(p))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !strings.Contains(err.Error(), "parameter") {
				// Compile errors are located (IR path) or about a parameter value.
				t.Logf("compile error without an IR path: %v", err)
			}
			return
		}
		if err := argo.ValidateWorkflow(wf); err != nil {
			t.Fatalf("compiled a workflow Argo's validator rejects: %v", err)
		}
		if _, err := argo.Marshal(wf, "yaml"); err != nil {
			t.Fatalf("printing: %v", err)
		}
	})
}
