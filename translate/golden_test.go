package translate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compiles each fixture of ../testdata/pipelines and compares the manifest with its golden file.
// `go test ./translate -update` rewrites them; review the diff.
func TestGolden(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range fixtures {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			p, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := Compile(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := argo.ValidateWorkflow(wf); err != nil {
				t.Fatal(err)
			}
			got, err := argo.Marshal(wf, "yaml")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./translate -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the compiled output; run go test ./translate -update and review the diff", golden)
			}
		})
	}
}

// TestCompileIsDeterministic: the same input gives the same bytes (GitOps diffs must be real changes).
func TestCompileIsDeterministic(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	for _, f := range fixtures {
		var first []byte
		for i := 0; i < 20; i++ {
			p, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := Compile(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := argo.Marshal(wf, "yaml")
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = out
			} else if !bytes.Equal(first, out) {
				t.Fatalf("%s: run %d differs from run 0", f, i)
			}
		}
	}
}
